"""Evidence: where each value read for a subject came from, when, and a hash of exactly what was read."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any


def _json_default(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def content_hash(records: Any) -> str:
    """SHA-256 over the canonical JSON of the records read (sorted keys, ISO dates)."""
    text = json.dumps(
        records, default=_json_default, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Evidence:
    resource: str
    provider: str
    source: str
    read_at: dt.datetime
    content_hash: str
    rows: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "provider": self.provider,
            "source": self.source,
            "read_at": self.read_at.isoformat(),
            "content_hash": self.content_hash,
            "rows": self.rows,
        }
