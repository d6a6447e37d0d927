"""Evidence: where each value read for a subject came from, when, and a hash of exactly what was read."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson


def _json_default(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def content_hash(records: Any) -> str:
    """SHA-256 over the canonical JSON of the records read (sorted keys, ISO dates)."""
    # orjson writes the same bytes as json.dumps(sort_keys=True, ensure_ascii=False, compact
    # separators) for records of text, numbers, dates and nulls, several times faster.
    text = orjson.dumps(records, default=_json_default, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return "sha256:" + hashlib.sha256(text).hexdigest()


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
