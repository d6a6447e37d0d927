"""Figures per trigger (Qingdao-style): detected, pushed, confirmed, completed, declined, expired,
ended (the subject died before a decision: neither their refusal nor their delay), the median number
of interactions a completed case needed, and the materials and form fields the subjects no longer had
to provide — counted in the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from miaopi.catalog import Catalog
from miaopi.proactive.models import ProactiveCase

COMPLETED = ("decided", "delivered")


@dataclass(frozen=True)
class TriggerFigures:
    trigger_id: str
    trigger_name: str
    target: str
    target_name: str
    detected: int
    pushed: int
    confirmed: int
    completed: int
    declined: int
    expired: int
    ended: int
    median_interactions: float | None
    materials_not_needed: int  # summed over completed cases
    form_fields_not_needed: int  # summed over completed cases
    materials_per_case: int | None
    form_fields_per_case: int | None


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def trigger_figures(session: Session, catalog: Catalog) -> list[TriggerFigures]:
    done = ProactiveCase.status.in_(COMPLETED)
    rows = session.execute(
        select(
            ProactiveCase.trigger_id,
            func.max(ProactiveCase.target),
            func.max(ProactiveCase.target_name),
            func.count(),
            _count(ProactiveCase.notified_at.is_not(None)),
            _count(ProactiveCase.confirmed_at.is_not(None)),
            _count(done),
            _count(ProactiveCase.status == "declined"),
            _count(ProactiveCase.status == "expired"),
            _count(ProactiveCase.status == "ended"),
            func.coalesce(func.sum(case((done, ProactiveCase.materials_waived), else_=0)), 0),
            func.coalesce(func.sum(case((done, ProactiveCase.form_fields), else_=0)), 0),
            func.max(ProactiveCase.materials_waived),
            func.max(ProactiveCase.form_fields),
        )
        .group_by(ProactiveCase.trigger_id)
        .order_by(ProactiveCase.trigger_id)
    ).all()
    figures = []
    for (
        trigger_id,
        target,
        target_name,
        detected,
        pushed,
        confirmed,
        completed,
        declined,
        expired,
        ended,
        *rest,
    ) in rows:
        materials, fields, materials_each, fields_each = rest
        trigger = catalog.triggers.get(trigger_id)
        figures.append(
            TriggerFigures(
                trigger_id=trigger_id,
                trigger_name=trigger.name if trigger is not None else trigger_id,
                target=target,
                target_name=target_name,
                detected=int(detected),
                pushed=int(pushed),
                confirmed=int(confirmed),
                completed=int(completed),
                declined=int(declined),
                expired=int(expired),
                ended=int(ended),
                median_interactions=_median_interactions(session, trigger_id, int(completed)),
                materials_not_needed=int(materials),
                form_fields_not_needed=int(fields),
                materials_per_case=int(materials_each) if materials_each is not None else None,
                form_fields_per_case=int(fields_each) if fields_each is not None else None,
            )
        )
    return figures


def _median_interactions(session: Session, trigger_id: str, count: int) -> float | None:
    """The median interactions of the trigger's completed cases (portable: no percentile function)."""
    if count == 0:
        return None
    ordered = (
        select(ProactiveCase.interactions)
        .where(ProactiveCase.trigger_id == trigger_id, ProactiveCase.status.in_(COMPLETED))
        .order_by(ProactiveCase.interactions)
    )
    middle = session.scalars(ordered.offset((count - 1) // 2).limit(2 - count % 2)).all()
    return sum(middle) / len(middle)
