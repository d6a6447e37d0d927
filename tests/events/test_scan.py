"""The daily scans: licences approaching expiry and people turning 65/70/80 become events, once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from miaopi.cli import app
from miaopi.events.models import Event
from miaopi.events.scan import scan_ages, scan_expiry
from miaopi.proactive.models import ProactiveCase
from tests.events.world import HYGIENE_EXPIRY, HYGIENE_NUMBER, OLD, OLD_SZ, SALON, TODAY, open_world


def test_expiry_scan_prepares_the_renewal_once(tmp_path: Path, database_url: str) -> None:
    deployment = open_world(tmp_path / "data", database_url)
    try:
        args = (deployment.catalog, deployment.exchange, deployment.events)
        assert scan_expiry(*args, TODAY, within=30).found == 0  # 50 days left: outside a 30-day window
        result = scan_expiry(*args, TODAY, within=60)
        assert (result.found, result.stored, result.cases) == (1, 1, 1)
        repeat = scan_expiry(*args, TODAY + dt.timedelta(days=1), within=60)  # the next day's scan
        assert (repeat.found, repeat.stored, repeat.duplicates, repeat.cases) == (1, 0, 1, 0)
        with deployment.database.session() as session:
            event = session.scalars(select(Event)).one()
            assert event.source == "data_bureau" and event.channel == "scan" and event.subject == SALON
            assert event.payload == {
                "licence_type": "公共场所卫生许可证",
                "licence_number": HYGIENE_NUMBER,
                "valid_to": HYGIENE_EXPIRY.isoformat(),
                "days_left": 50,
            }
            case = session.scalars(select(ProactiveCase)).one()
            assert case.trigger_id == "hygiene-licence-renewal" and case.target == "440112-WJ-0001"
            # No address or scope change since the licence was issued: pre-filled as unchanged.
            assert case.form == {"unchanged": True} and case.form_fields == 1
            statuses = {m["name"]: m["status"] for m in case.materials}
            assert statuses["原公共场所卫生许可证"] == "licence"
            assert statuses["卫生检测或评价报告"] == "committed"  # 告知承诺, given with the confirmation
            assert (
                case.replaced_licence is not None
                and case.replaced_licence["licence_number"] == HYGIENE_NUMBER
            )
    finally:
        deployment.close()


def test_age_scan_covers_missed_days_and_only_the_living(tmp_path: Path, database_url: str) -> None:
    deployment = open_world(tmp_path / "data", database_url)
    try:
        args = (deployment.catalog, deployment.exchange, deployment.events)
        assert scan_ages(*args, TODAY - dt.timedelta(days=1)).found == 0
        caught_up = scan_ages(*args, TODAY + dt.timedelta(days=3), since=TODAY - dt.timedelta(days=2))
        assert caught_up.found == 2
        with deployment.database.session() as session:
            events = {e.subject: e for e in session.scalars(select(Event))}
        assert set(events) == {OLD, OLD_SZ}
        assert events[OLD].payload == {"age": 65, "birthday": TODAY.isoformat()}
        assert events[OLD].event_id.startswith("age:") and OLD not in events[OLD].event_id  # no ID number
    finally:
        deployment.close()


def test_scan_commands(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    open_world(data_dir, database_url).close()
    runner = CliRunner()
    env = {"MIAOPI_DATABASE_URL": database_url}
    expiry = runner.invoke(
        app, ["events", "scan-expiry", "--as-of", TODAY.isoformat(), "--data-dir", str(data_dir)], env=env
    )
    assert expiry.exit_code == 0, expiry.output
    assert "发现 1，新事件 1" in expiry.output
    ages = runner.invoke(
        app, ["events", "scan-ages", "--as-of", TODAY.isoformat(), "--data-dir", str(data_dir)], env=env
    )
    assert ages.exit_code == 0 and "发现 2" in ages.output
    bad = runner.invoke(
        app, ["events", "scan-ages", "--as-of", "22/11/2026", "--data-dir", str(data_dir)], env=env
    )
    assert bad.exit_code == 2 and "--as-of" in bad.output
    stats = runner.invoke(app, ["proactive", "stats", "--data-dir", str(data_dir)], env=env)
    assert stats.exit_code == 0 and "hygiene-licence-renewal" in stats.output


def test_expiry_scan_covers_licences_miaopi_issued(tmp_path: Path, database_url: str) -> None:
    from miaopi.licence.models import IssuedLicence
    from tests.events.world import BUILDER, REP, name_change

    deployment = open_world(tmp_path / "data", database_url)
    try:
        from miaopi.events import EventIn, validate_event

        event = validate_event(EventIn(**name_change("mr-1")), "market_regulation", "http")
        (case_id,) = deployment.events.ingest([event])[0].cases
        account = deployment.accounts.ensure_applicant(REP, verified=True)
        principal = deployment.accounts.resolve(deployment.accounts.issue_token(account.id))
        deployment.proactive.verify(principal, case_id)
        successor = deployment.proactive.confirm(principal, case_id).successor_licence
        with deployment.database.session() as session:
            issued = session.get(IssuedLicence, successor)
            assert issued is not None and issued.valid_until is not None
            expiry = issued.valid_until
        args = (deployment.catalog, deployment.exchange, deployment.events)
        result = scan_expiry(*args, expiry - dt.timedelta(days=10), within=60)
        with deployment.database.session() as session:
            found = [e for e in session.scalars(select(Event).where(Event.type == "licence.expiring"))]
        assert [e.payload["licence_number"] for e in found if e.subject == BUILDER] == [successor]
        assert found[0].payload["days_left"] == 10 and result.stored >= 1
    finally:
        deployment.close()
