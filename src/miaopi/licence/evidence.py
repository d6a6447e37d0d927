"""Licences as evidence (免提交): which licence satisfied which material of a case."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

__all__ = ["OwnLicences", "evidence_uses"]


class OwnLicences(Protocol):
    """Miaopi's own licences as the pipeline sees them."""

    def held(self, holder: str, type_names: Sequence[str], on: dt.date) -> list[dict[str, Any]]:
        """The holder's licences of these types it can present (valid, not revoked or suspended)."""
        ...

    def reopened(self, session: Session, case_no: str, actor: str, at: dt.datetime) -> None:
        """A decided case goes back to a person (the applicant refused the automatic decision): its
        licence is suspended until the case is decided again, in the caller's transaction."""
        ...


def evidence_uses(
    case_no: str, materials: Sequence[Mapping[str, Any]], at: dt.datetime
) -> list[dict[str, Any]]:
    """The licence-use rows of a case: one per material a licence satisfied."""
    return [
        {
            "case_no": case_no,
            "material": entry["name"],
            "type_name": entry.get("licence_type") or entry["name"],
            "licence": entry["licence_number"],
            "source": entry.get("licence_source", "shared"),
            "used_at": at,
        }
        for entry in materials
        if entry.get("status") == "licence" and entry.get("licence_number")
    ]
