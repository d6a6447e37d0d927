"""Incremental re-screening: after the shared data change, only the subjects whose facts changed are
re-evaluated, and the result equals a full run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from miaopi.cli import app
from miaopi.screening import ScreeningError, screen
from tests.screening.conftest import in_list, keys, open_city, ordered, resource_file, results, rewrite

AS_OF = dt.date(2026, 11, 22)
NEW_CODE = "91440300MA5NEW0001"


def change_the_city(city: Path) -> dict[str, list[str]]:
    """Change some subjects' records; returns who was changed, by how."""
    person = resource_file(city, "population.person")
    older = keys(person, "id_number", "hukou_city = '310000' AND death_date IS NULL", 6)
    renamed = keys(person, "id_number", f"hukou_city = '310000' AND id_number NOT IN ({in_list(older)})", 40)
    rewrite(
        person,
        "SELECT * REPLACE ("
        f"CASE WHEN id_number IN ({in_list(older)}) THEN CAST(birth_date - INTERVAL 20 YEAR AS DATE) "
        "ELSE birth_date END AS birth_date, "
        f"CASE WHEN id_number IN ({in_list(renamed)}) THEN '改名' ELSE name END AS name) FROM rows",
    )
    # A many-record resource: some enterprises' unemployment claims of last year are withdrawn.
    claims = resource_file(city, "social_insurance.ui_claim")
    withdrawn = keys(claims, "former_employer", "YEAR(claim_date) = 2025", 5)
    rewrite(
        claims,
        f"SELECT * FROM rows WHERE NOT (former_employer IN ({in_list(withdrawn)}) AND YEAR(claim_date) = 2025)",
    )
    # One enterprise leaves the registry; a new one appears, insured like an existing one.
    registry = resource_file(city, "enterprise.registry")
    gone, template = keys(
        registry, "credit_code", f"status = '存续' AND credit_code NOT IN ({in_list(withdrawn)})", 2
    )
    rewrite(
        registry,
        f"SELECT * FROM rows WHERE credit_code <> '{gone}' "
        f"UNION ALL SELECT * REPLACE ('{NEW_CODE}' AS credit_code) FROM rows WHERE credit_code = '{template}'",
    )
    employer = resource_file(city, "social_insurance.employer_year")
    rewrite(
        employer,
        f"SELECT * FROM rows UNION ALL SELECT * REPLACE ('{NEW_CODE}' AS credit_code) FROM rows "
        f"WHERE credit_code = '{template}'",
    )
    return {
        "older": older,
        "renamed": renamed,
        "withdrawn": withdrawn,
        "gone": [gone],
        "template": [template],
    }


def test_only_changed_subjects_are_reevaluated_and_the_result_equals_a_full_run(
    city: Path, tmp_path: Path
) -> None:
    catalog, exchange = open_city(city)
    first = screen(catalog, exchange, AS_OF, tmp_path / "first.parquet")
    assert first.reevaluation is not None and first.fingerprints is not None and first.fingerprints.is_file()
    assert first.reevaluation.reevaluated == first.reevaluation.subjects > 20_000

    changed = change_the_city(city)
    catalog, exchange = open_city(city)
    incremental = screen(catalog, exchange, AS_OF, tmp_path / "second.parquet", previous=first.output)
    full = screen(catalog, exchange, AS_OF, tmp_path / "full.parquet")

    counted = incremental.reevaluation
    assert counted is not None and counted.full_kinds == []
    # 6 people with new birth dates, 5 enterprises with claims withdrawn, 1 new enterprise — not the
    # 40 people whose name (read by no policy) changed.
    assert counted.reevaluated == 6 + 5 + 1
    assert counted.removed == 1
    assert counted.carried_over == counted.subjects - 12 == first.reevaluation.subjects - 12
    assert results(incremental.output) == results(full.output)
    assert ordered(incremental.output) == ordered(full.output)
    assert incremental.figures == full.figures

    before, after = results(first.output), results(full.output)
    elderly = "shanghai-elderly-allowance"
    assert any(before[(elderly, person)] != after[(elderly, person)] for person in changed["older"])
    refund = "ui-job-retention-refund"
    assert (refund, changed["gone"][0]) in before and (refund, changed["gone"][0]) not in after
    assert after[(refund, NEW_CODE)][1:] == after[(refund, changed["template"][0])][1:]


def test_rescreening_in_place_and_with_a_new_as_of_date(city: Path, tmp_path: Path) -> None:
    catalog, exchange = open_city(city)
    output = tmp_path / "screening.parquet"
    first = screen(catalog, exchange, AS_OF, output)
    before = results(output)
    unchanged = screen(catalog, exchange, AS_OF, output, previous=output)
    assert unchanged.reevaluation is not None and unchanged.reevaluation.reevaluated == 0
    assert unchanged.reevaluation.carried_over == unchanged.reevaluation.subjects
    assert results(output) == before
    change_the_city(city)
    catalog, exchange = open_city(city)
    # The result replaces the previous one it was computed from.
    again = screen(catalog, exchange, AS_OF, output, previous=output)
    assert again.reevaluation is not None and again.reevaluation.reevaluated == 12
    assert results(output) == results(screen(catalog, exchange, AS_OF, tmp_path / "full.parquet").output)
    # Another as-of date changes every subject's facts (ages, "last year"): everyone is re-evaluated.
    later = dt.date(2027, 2, 1)
    moved = screen(catalog, exchange, later, tmp_path / "later.parquet", previous=output)
    assert moved.reevaluation is not None
    assert sorted(moved.reevaluation.full_kinds) == ["enterprise.registry", "population.person"]
    assert moved.reevaluation.reevaluated == moved.reevaluation.subjects == first.reevaluation.subjects  # type: ignore[union-attr]
    assert results(moved.output) == results(
        screen(catalog, exchange, later, tmp_path / "full-later.parquet").output
    )


def test_incremental_needs_a_previous_result_with_fingerprints(city: Path, tmp_path: Path) -> None:
    catalog, exchange = open_city(city)
    with pytest.raises(ScreeningError, match=r"上次筛查结果.*不存在"):
        screen(catalog, exchange, AS_OF, tmp_path / "x.parquet", previous=tmp_path / "none.parquet")
    first = screen(catalog, exchange, AS_OF, tmp_path / "first.parquet")
    assert first.fingerprints is not None
    first.fingerprints.unlink()
    with pytest.raises(ScreeningError, match="没有主体指纹文件"):
        screen(catalog, exchange, AS_OF, tmp_path / "x.parquet", previous=first.output)
    assert not (tmp_path / "x.parquet").exists()


def test_cli_incremental_reports_what_was_reevaluated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIAOPI_DATABASE_URL", raising=False)
    monkeypatch.setenv("MIAOPI_CITY_SCALE", "demo")
    data = tmp_path / "data"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--data-dir", str(data)]).exit_code == 0
    arguments = ["screen", "--data-dir", str(data), "--as-of", "2026-11-22"]
    result = runner.invoke(app, [*arguments, "--incremental"])
    assert result.exit_code == 2 and "没有可供增量筛查的上次结果" in result.output
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    change_the_city(data / "city")
    result = runner.invoke(app, [*arguments, "--incremental", "--memory-limit", "1GB"])
    assert result.exit_code == 0, result.output
    assert (
        "增量筛查" in result.output
        and "重新评估 12，" in result.output
        and "已不在登记库中 1" in result.output
    )
    assert (data / "screening" / "2026-11-22.parquet.fingerprints").is_file()
    result = runner.invoke(app, [*arguments, "--spark-conf", "nonsense"])
    assert result.exit_code == 2 and "--spark-conf 应为 KEY=VALUE" in result.output
