"""Licences as evidence (免提交): which licence satisfied which material of a case."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

__all__ = ["OwnLicences", "evidence_uses"]


class OwnLicences(Protocol):
    """The licences Miaopi itself issued that a holder can present (valid, not revoked or suspended)."""

    def held(self, holder: str, type_names: Sequence[str], on: dt.date) -> list[dict[str, Any]]: ...


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
