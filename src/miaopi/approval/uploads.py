"""Uploaded materials (上传材料) in the case store, once per content, under their SHA-256.

An upload is stored in the same transaction as the case or the correction that refers to it: a case
answered as stored has its materials, on every server of the deployment and in its backups, and a
case that failed to store leaves nothing behind. Equal content is stored once (``ON CONFLICT DO
NOTHING``: two cases committing the same photo at once cannot collide).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from miaopi.approval.models import Upload
from miaopi.store import Database
from miaopi.store.bulk import BoundRows, bind_rows, insert_bound

UPLOADS = cast(Table, Upload.__table__)
_FILE_NAME = re.compile(r"[0-9a-f]{64}")
IMPORT_BATCH_BYTES = 32 * 1024 * 1024
log = logging.getLogger(__name__)


def content_hash(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def upload_row(digest: str, content: bytes, at: dt.datetime) -> dict[str, Any]:
    """One upload, ready to store: ``digest`` is its :func:`content_hash`."""
    return {"content_hash": digest, "content": content, "size": len(content), "stored_at": at}


def bind_uploads(dialect: Dialect, rows: Sequence[dict[str, Any]]) -> BoundRows:
    """Uploads (at least one) converted for the driver: content stored before, or earlier in
    ``rows``, is kept as it is (see :func:`miaopi.store.bulk.bind_rows`)."""
    return bind_rows(dialect, UPLOADS, rows, skip_existing=True)


def store_uploads(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Store uploads in the caller's transaction (see :func:`bind_uploads`)."""
    if rows:
        insert_bound(session, [bind_uploads(session.get_bind().dialect, rows)])


@dataclass(frozen=True)
class StoredUpload:
    content: bytes
    filename: str
    content_type: str


def find_upload(session: Session, materials: Sequence[dict[str, Any]], digest: str) -> StoredUpload | None:
    """The upload with this content hash among ``materials`` (a case's, or a correction's), with the
    file name and type it was uploaded under; None if none of them refers to it."""
    for material in materials:
        if material.get("status") == "uploaded" and material.get("content_hash") == digest:
            content = session.scalar(select(Upload.content).where(Upload.content_hash == digest))
            if content is None:
                return None
            return StoredUpload(
                content=content,
                filename=str(material.get("filename") or "upload"),
                content_type=str(material.get("content_type") or "application/octet-stream"),
            )
    return None


def import_files(database: Database, directory: Path) -> int:
    """Read the files of ``<data dir>/uploads/`` (where uploads were kept before migration 0015) into
    the case store, then rename the directory ``uploads.imported`` — nothing is deleted; the
    operator may remove it once satisfied. A file whose content does not match its name is left out
    and logged. Returns how many files were stored."""
    files = sorted(path for path in directory.glob("*/*") if _FILE_NAME.fullmatch(path.name))
    at = dt.datetime.now(dt.UTC)
    stored = 0
    rows: list[dict[str, Any]] = []
    carried = 0  # bytes in ``rows``
    for number, path in enumerate(files, start=1):
        content = path.read_bytes()
        digest = content_hash(content)
        if digest != f"sha256:{path.name}":
            log.error("上传材料文件内容与文件名不符，未导入：%s", path.relative_to(directory.parent))
        else:
            rows.append(upload_row(digest, content, at))
            carried += len(content)
        if rows and (number == len(files) or carried >= IMPORT_BATCH_BYTES):
            with database.session() as session:  # a transaction per some 32 MB: memory stays bounded
                store_uploads(session, rows)
            stored += len(rows)
            rows, carried = [], 0
    target = directory.with_name("uploads.imported")
    if target.exists():
        target = directory.with_name(f"uploads.imported-{at:%Y%m%d%H%M%S}")
    directory.rename(target)
    log.info("已将 %d 个上传材料文件导入办件库（原目录改名为 %s）", stored, target.name)
    return stored
