"""``miaopi audit verify`` (mounted here on its own Typer app) against an embedded data directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from miaopi.audit import AuditLog
from miaopi.audit.cli import audit_app
from miaopi.store import Database
from tests.audit.conftest import fill, tamper

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory whose ``miaopi.db`` is migrated (what ``load_settings`` points at by default)."""
    monkeypatch.delenv("MIAOPI_DATABASE_URL", raising=False)
    monkeypatch.delenv("MIAOPI_DATA_DIR", raising=False)
    directory = tmp_path / "data"
    directory.mkdir()
    database = Database(f"sqlite:///{directory / 'miaopi.db'}")
    database.migrate()
    database.dispose()
    return directory


def _database(data_dir: Path) -> Database:
    return Database(f"sqlite:///{data_dir / 'miaopi.db'}")


def test_intact_chain_exits_zero(data_dir: Path) -> None:
    database = _database(data_dir)
    fill(database, AuditLog(), 7)
    database.dispose()
    result = runner.invoke(audit_app, ["verify", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "审计链完整：7 条记录" in result.output


def test_empty_chain_exits_zero(data_dir: Path) -> None:
    result = runner.invoke(audit_app, ["verify", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "审计链完整：0 条记录" in result.output


def test_broken_chain_exits_one_and_names_the_entry(data_dir: Path) -> None:
    database = _database(data_dir)
    fill(database, AuditLog(), 7)
    tamper(database, "UPDATE audit_log SET outcome = 'revoked' WHERE seq = 4")
    database.dispose()
    result = runner.invoke(audit_app, ["verify", "--data-dir", str(data_dir)])
    assert result.exit_code == 1, result.output
    assert "第 4 条记录的哈希值与内容不符（记录被修改）" in result.output
    assert "SZ-0004" in result.output and "revoked" in result.output  # the entry as stored


def test_deleted_entry_exits_one(data_dir: Path) -> None:
    database = _database(data_dir)
    fill(database, AuditLog(), 3)
    tamper(database, "DELETE FROM audit_log WHERE seq = 3")
    database.dispose()
    result = runner.invoke(audit_app, ["verify", "--data-dir", str(data_dir)])
    assert result.exit_code == 1, result.output
    assert "缺少第 3 条记录" in result.output


def test_missing_store_exits_two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIAOPI_DATABASE_URL", raising=False)
    result = runner.invoke(audit_app, ["verify", "--data-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "数据库不存在" in result.output
    assert not (tmp_path / "nowhere").exists()  # verifying never creates a store


def test_unmigrated_store_exits_two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIAOPI_DATABASE_URL", raising=False)
    (tmp_path / "miaopi.db").touch()
    result = runner.invoke(audit_app, ["verify", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "没有审计日志表" in result.output


def test_mounted_as_a_sub_command(data_dir: Path) -> None:
    import typer

    app = typer.Typer()
    app.add_typer(audit_app, name="audit")

    @app.command()
    def version() -> None:  # a second command, as in the real ``miaopi`` app
        """版本。"""

    result = runner.invoke(app, ["audit", "verify", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "审计链完整：0 条记录" in result.output
