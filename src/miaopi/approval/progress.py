"""阳光审批: a case's public progress — steps with times, the current stage, the promised deadline —
with no personal data (the applicant's identifier masked, no names, no facts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from miaopi.approval.models import Application, CaseStep
from miaopi.approval.pipeline import STATUS_LABELS
from miaopi.identity import mask_identifier


@dataclass(frozen=True)
class PublicStep:
    step: str
    label: str
    at: dt.datetime


@dataclass(frozen=True)
class PublicProgress:
    case_no: str
    item_name: str
    applicant: str  # masked
    status: str
    stage: str
    submitted_at: dt.datetime
    promised_deadline: dt.date | None
    statutory_deadline: dt.date | None
    steps: list[PublicStep]


def public_progress(session: Session, case_no: str) -> PublicProgress | None:
    case = session.get(Application, case_no)
    if case is None:
        return None
    steps = session.scalars(
        select(CaseStep).where(CaseStep.case_no == case_no).order_by(CaseStep.at, CaseStep.id)
    ).all()
    return PublicProgress(
        case_no=case.case_no,
        item_name=case.item_name,
        applicant=mask_identifier(case.applicant),
        status=case.status,
        stage=STATUS_LABELS.get(case.status, case.status),
        submitted_at=case.submitted_at,
        promised_deadline=case.promised_deadline,
        statutory_deadline=case.statutory_deadline,
        steps=[PublicStep(step.step, step.label, step.at) for step in steps],
    )
