"""Uploads kept as files before migration 0015 are read into the case store when the deployment is
next set up; nothing is deleted."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import miaopi.approval.uploads as uploads_module
from miaopi.approval.models import Upload
from miaopi.config import load_settings
from miaopi.deployment import initialise
from miaopi.store import Database
from tests.approval.world import write_world


def keep_as_file(uploads: Path, content: bytes, name: str | None = None) -> Path:
    digest = hashlib.sha256(content).hexdigest()
    path = uploads / digest[:2] / (name or digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_files_uploaded_before_are_read_into_the_case_store(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("miaopi.approval.uploads.IMPORT_BATCH_BYTES", 10_000)  # several transactions
    data_dir = tmp_path / "data"
    write_world(data_dir)
    uploads = data_dir / "uploads"
    photos = [f"照片 {n}".encode() * 100 for n in range(150)]
    for photo in photos:
        keep_as_file(uploads, photo)
    tampered = keep_as_file(uploads, b"what the name promised")
    tampered.write_bytes(b"something else")
    keep_as_file(uploads, b"half written", name=f"{'0' * 64}.3fa1c2.part")  # an upload cut short
    settings = load_settings(data_dir, database_url)
    batches: list[int] = []  # bytes per transaction
    store = uploads_module.store_uploads

    def counted(session: Session, rows: Sequence[dict[str, Any]]) -> None:
        batches.append(sum(row["size"] for row in rows))
        store(session, rows)

    monkeypatch.setattr(uploads_module, "store_uploads", counted)

    assert initialise(settings) is False  # an existing deployment: migrated, and its files read in
    assert len(batches) > 1 and max(batches) < 10_000 + max(len(photo) for photo in photos)

    database = Database(settings.database_url)
    with database.session() as session:
        stored = {row.content_hash: row.content for row in session.scalars(select(Upload))}
    database.dispose()
    assert stored == {"sha256:" + hashlib.sha256(photo).hexdigest(): photo for photo in photos}
    assert not uploads.exists()
    kept = data_dir / "uploads.imported"
    assert len([path for path in kept.glob("*/*") if path.is_file()]) == len(photos) + 2  # nothing deleted
    assert "上传材料文件内容与文件名不符，未导入" in caplog.text
    assert initialise(settings) is False  # once: nothing left to read in
