import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from miaopi.city import CityManifest, Scale, generate_city, resources
from miaopi.city.cli import city_app
from miaopi.identity import parse_citizen_id, parse_credit_code
from miaopi.identity.credit_code import check_character as credit_check
from miaopi.identity.credit_code import organisation_check_character

AS_OF = dt.date(2026, 11, 22)
PREFIX_OF_TYPE = {
    "企业": "91",
    "会计师事务所": "91",
    "个体工商户": "92",
    "农民专业合作社": "93",
    "社会团体": "51",
    "民办非企业单位": "52",
    "基金会": "53",
    "律师事务所": "31",
}


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _sql(root: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per resource, named by its code with '.' → '__'."""
    connection = duckdb.connect()
    for resource in resources():
        path = (root / resource.path).as_posix()
        connection.execute(f"CREATE VIEW {resource.code.replace('.', '__')} AS SELECT * FROM '{path}'")
    return connection


def _scalar(connection: duckdb.DuckDBPyConnection, query: str) -> object:
    row = connection.execute(query).fetchone()
    assert row is not None
    return row[0]


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(
    demo_city: CityManifest, tmp_path: Path
) -> None:
    again = generate_city(tmp_path / "again", "demo", demo_city.seed)
    other = generate_city(tmp_path / "other", "demo", demo_city.seed + 1)
    first = _hashes(demo_city.out)
    assert len(first) == len(resources()) + 2
    assert _hashes(again.out) == first
    differing = {name for name, digest in _hashes(other.out).items() if first[name] != digest}
    assert {r.path for r in resources()} <= differing


def test_chunk_size_does_not_change_the_data(tmp_path: Path) -> None:
    small = generate_city(tmp_path / "small", Scale("tiny", 2_500, 12_000, chunk_size=1_000))
    large = generate_city(tmp_path / "large", Scale("tiny", 2_500, 12_000, chunk_size=10_000))
    assert small.rows == large.rows
    for resource in resources():
        left = pq.read_table(small.out / resource.path)
        assert left.num_rows == small.rows[resource.code]
        assert left.equals(pq.read_table(large.out / resource.path)), resource.code
    assert pq.ParquetFile(small.out / "public_security/population.person.parquet").num_row_groups == 12


def test_every_citizen_id_is_valid_and_matches_the_registry(demo_dir: Path) -> None:
    people = pq.read_table(demo_dir / "public_security/population.person.parquet").to_pylist()
    assert len(people) == 20_000
    for person in people:
        parsed = parse_citizen_id(person["id_number"], today=AS_OF)
        assert parsed.birth_date == person["birth_date"]
        assert parsed.sex_label == person["sex"]
        assert parsed.region == person["birth_region"]
        assert len(person["hukou_city"]) == 6 and person["hukou_city"].endswith("00")
        assert 2 <= len(person["name"]) <= 4
        if person["death_date"] is not None:
            assert person["birth_date"] < person["death_date"] <= AS_OF


def test_every_credit_code_is_valid_and_fits_the_entity_type(demo_dir: Path) -> None:
    registry = pq.read_table(demo_dir / "market_regulation/enterprise.registry.parquet").to_pylist()
    for entity in registry:
        code = entity["credit_code"]
        parsed = parse_credit_code(code)
        assert parsed.warning is None
        assert credit_check(code[:17]) == code[17]
        assert organisation_check_character(code[8:16]) == code[16]
        assert code[:2] == PREFIX_OF_TYPE[entity["entity_type"]]
        assert parsed.region == entity["region_code"]
        assert entity["founding_date"] <= AS_OF
    assert {e["entity_type"] for e in registry} == set(PREFIX_OF_TYPE)


def test_department_org_codes_are_valid_agency_codes(demo_dir: Path) -> None:
    catalogue = yaml.safe_load((demo_dir / "resources.yaml").read_text("utf-8"))
    for department in catalogue["departments"]:
        parsed = parse_credit_code(department["org_code"])
        assert parsed.warning is None and department["org_code"][:2] == "11"


def test_identifiers_in_every_table_are_valid(demo_dir: Path) -> None:
    for resource in resources():
        table = pq.read_table(demo_dir / resource.path)
        for value in set(table.column(resource.key).to_pylist()):
            if resource.subject == "person":
                parse_citizen_id(value, today=AS_OF)
            else:
                assert parse_credit_code(value).warning is None


def test_catalogue_lists_every_file_with_its_exact_schema(demo_dir: Path) -> None:
    catalogue = yaml.safe_load((demo_dir / "resources.yaml").read_text("utf-8"))
    departments = {d["code"] for d in catalogue["departments"]}
    entries = catalogue["resources"]
    assert len({e["code"] for e in entries}) == len(entries)
    assert len({e["path"] for e in entries}) == len(entries)
    written = {str(p.relative_to(demo_dir)) for p in demo_dir.rglob("*.parquet")}
    assert written == {e["path"] for e in entries}
    arrow_names = {
        "string": "string",
        "integer": "int64",
        "number": "double",
        "boolean": "bool",
        "date": "date32[day]",
    }
    for entry in entries:
        assert entry["provider"] in departments
        assert entry["sharing"] in ("unconditional", "conditional", "none")
        assert (entry["sharing_condition"] is not None) == (entry["sharing"] == "conditional")
        assert entry["subject"] in ("person", "enterprise") and entry["records"] in ("one", "many")
        assert entry["code"].count(".") == 1 and all(f["label"] for f in entry["fields"])
        schema = pq.read_schema(demo_dir / entry["path"])
        assert [(f.name, str(f.type)) for f in schema] == [
            (f["name"], arrow_names[f["type"]]) for f in entry["fields"]
        ]
        assert entry["key"] in schema.names


def test_manifest_counts_rows(demo_city: CityManifest, demo_dir: Path) -> None:
    manifest = json.loads((demo_dir / "city.json").read_text("utf-8"))
    assert manifest["scale"] == "demo" and manifest["seed"] == demo_city.seed
    assert manifest["generator_version"]
    for resource in resources():
        assert pq.ParquetFile(demo_dir / resource.path).metadata.num_rows == manifest["rows"][resource.code]


def test_tables_are_sorted_by_key_and_one_record_tables_are_unique(demo_dir: Path) -> None:
    for resource in resources():
        keys = pq.read_table(demo_dir / resource.path, columns=[resource.key]).column(0).to_pylist()
        assert keys == sorted(keys), resource.code
        if resource.records == "one":
            assert len(set(keys)) == len(keys), resource.code


def test_references_resolve(demo_dir: Path) -> None:
    db = _sql(demo_dir)
    for resource in resources():
        parent = "population__person" if resource.subject == "person" else "enterprise__registry"
        parent_key = "id_number" if resource.subject == "person" else "credit_code"
        view = resource.code.replace(".", "__")
        orphans = _scalar(
            db, f"SELECT count(*) FROM {view} WHERE {resource.key} NOT IN (SELECT {parent_key} FROM {parent})"
        )
        assert orphans == 0, resource.code
    assert _scalar(db, """
        SELECT count(*) FROM enterprise__registry e LEFT JOIN population__person p ON p.id_number = e.legal_rep_id
        WHERE p.id_number IS NULL OR p.death_date IS NOT NULL
           OR date_diff('year', p.birth_date, e.founding_date) < 18""") == 0  # fmt: skip
    assert _scalar(db, """SELECT count(*) FROM social_insurance__ui_claim c
        WHERE c.id_number NOT IN (SELECT id_number FROM population__person)""") == 0  # fmt: skip
    assert _scalar(db, """SELECT count(*) FROM social_insurance__person_employment c
        WHERE c.employer NOT IN (SELECT credit_code FROM enterprise__registry)""") == 0  # fmt: skip


def test_no_records_after_death_or_deregistration(demo_dir: Path) -> None:
    db = _sql(demo_dir)
    dated_person = {
        "population__residence_permit": "valid_from",
        "education__degree": "graduation_date",
        "traffic__driving_licence": "first_issue_date",
        "traffic__penalty_points": "period_start",
        "police__criminal_record": "record_date",
        "transport__qualification": "obtained_date",
    }
    for view, column in dated_person.items():
        late = _scalar(db, f"""SELECT count(*) FROM {view} t JOIN population__person p USING (id_number)
            WHERE t.{column} > coalesce(p.death_date, DATE '2026-11-22')""")  # fmt: skip
        assert late == 0, view
    assert _scalar(db, """SELECT count(*) FROM social_insurance__ui_claim c JOIN population__person p
        USING (id_number) WHERE c.claim_date >= p.death_date
           OR date_diff('year', p.birth_date, c.claim_date) < 18""") == 0  # fmt: skip
    assert _scalar(db, """SELECT count(*) FROM social_insurance__employer_year y JOIN enterprise__registry e
        USING (credit_code) WHERE y.year > year(coalesce(e.status_date, DATE '2026-11-22'))
           OR y.year < year(e.founding_date)""") == 0  # fmt: skip
    assert _scalar(db, """SELECT count(*) FROM enterprise__change c JOIN enterprise__registry e
        USING (credit_code) WHERE c.change_date > coalesce(e.status_date, DATE '2026-11-22')
           OR c.change_date < e.founding_date""") == 0  # fmt: skip


def test_distributions_support_the_demo_policies(demo_dir: Path) -> None:
    db = _sql(demo_dir)
    sizes = dict(db.execute("SELECT size_class, count(*) FROM enterprise__registry GROUP BY 1").fetchall())
    assert (sizes["微"] + sizes["小"]) / sum(sizes.values()) > 0.85 and sizes["大"] > 0 and sizes["中"] > 0
    statuses = dict(db.execute("SELECT status, count(*) FROM enterprise__registry GROUP BY 1").fetchall())
    assert set(statuses) == {"存续", "注销", "吊销"} and statuses["存续"] / sum(statuses.values()) > 0.7
    classes = {r[0] for r in db.execute("SELECT DISTINCT industry_code FROM enterprise__registry").fetchall()}
    excluded_from_auto_filing = {
        "钢铁": {"3120", "3130"},
        "汽车": {"3612", "3670"},
        "乳制品": {"1441", "1442"},
        "集成电路": {"3973", "6520"},
        "危险化学品": {"2614", "2671", "5162", "5169"},
    }
    for industry, codes in excluded_from_auto_filing.items():
        assert classes & codes, industry
    # Older residents with and without Shanghai / Shenzhen household registration.
    elderly = dict(
        db.execute("""SELECT hukou_city, count(*) FROM population__person
        WHERE death_date IS NULL AND date_diff('year', birth_date, DATE '2026-11-22') >= 65 GROUP BY 1""").fetchall()
    )
    assert (
        elderly["310000"] > 50 and elderly["440300"] > 50 and sum(elderly.values()) - elderly["310000"] > 50
    )
    assert _scalar(db, "SELECT count(*) FROM population__person WHERE birth_date <= DATE '1926-11-22'") > 0
    dead = _scalar(db, "SELECT avg((death_date IS NOT NULL)::int) FROM population__person")
    assert 0.005 < dead < 0.05  # type: ignore[operator]
    # Layoff rates on both sides of 5.5 % and 20 %, and small employers present.
    rates = db.execute("""
        SELECT y.avg_insured_headcount <= 30 AS small, count(c.id_number) / y.avg_insured_headcount AS rate
        FROM social_insurance__employer_year y LEFT JOIN social_insurance__ui_claim c
          ON c.former_employer = y.credit_code AND year(c.claim_date) = y.year
        WHERE y.year = 2025 GROUP BY y.credit_code, y.avg_insured_headcount""").fetchall()
    large_rates = [rate for small, rate in rates if not small]
    small_rates = [rate for small, rate in rates if small]
    assert len(small_rates) > 100 and len(large_rates) > 50
    assert any(r <= 0.055 for r in large_rates) and any(r > 0.055 for r in large_rates)
    assert any(r <= 0.2 for r in small_rates) and any(r > 0.2 for r in small_rates)
    months = dict(
        db.execute(
            "SELECT months_paid_in_full = 12, count(*) FROM social_insurance__employer_year GROUP BY 1"
        ).fetchall()
    )
    assert months[True] > months[False] > 0
    assert _scalar(db, "SELECT count(*) FROM social_insurance__employer_year WHERE ui_arrears_paid > 0") > 0
    grades = {r[0] for r in db.execute("SELECT DISTINCT credit_grade FROM tax__enterprise_year").fetchall()}
    assert grades == {"A", "B", "M", "C", "D"}
    assert _scalar(db, "SELECT count(*) FROM credit__dishonest_enterprise WHERE removed_date IS NULL") > 0
    assert _scalar(db, "SELECT count(*) FROM credit__dishonest_person") > 0


def test_licences_and_driver_records_cover_the_rules(demo_dir: Path) -> None:
    db = _sql(demo_dir)
    expiring = _scalar(db, """SELECT count(*) FROM licence__enterprise_licence WHERE status = '有效'
        AND valid_to BETWEEN DATE '2026-11-22' AND DATE '2026-12-22'""")  # fmt: skip
    assert expiring > 10  # type: ignore[operator]
    names = {
        r[0]
        for r in db.execute("SELECT DISTINCT licence_type_name FROM licence__enterprise_licence").fetchall()
    }
    assert {
        "公共场所卫生许可证",
        "建筑业企业资质证书",
        "药品经营许可证",
        "人力资源服务许可证",
        "社会团体法人登记证书",
    } <= names
    for view in ("licence__enterprise_licence", "licence__person_licence"):
        assert (
            _scalar(
                db,
                f"SELECT count(*) FROM {view} WHERE valid_from > valid_to OR valid_from > DATE '2026-11-22'",
            )
            == 0
        )
    assert _scalar(db, "SELECT count(*) FROM traffic__penalty_points WHERE points >= 12") > 0
    assert _scalar(db, """SELECT count(*) FROM traffic__driving_licence
        WHERE first_issue_date <= DATE '2023-11-22' AND status = '正常'""") > 100  # fmt: skip
    categories = {
        r[0] for r in db.execute("SELECT DISTINCT category FROM police__criminal_record").fetchall()
    }
    assert {"交通肇事罪", "危险驾驶罪", "暴力犯罪", "吸毒", "醉酒驾驶"} <= categories
    kinds = dict(db.execute("""SELECT qualification, count(*) FILTER (WHERE revoked_date IS NOT NULL)
        FROM transport__qualification GROUP BY 1""").fetchall())  # fmt: skip
    assert (
        set(kinds) == {"网约车驾驶员从业资格考试合格", "出租汽车驾驶员从业资格"}
        and kinds["出租汽车驾驶员从业资格"] > 0
    )
    permits = dict(db.execute("""SELECT valid_to >= DATE '2026-11-22', count(*)
        FROM population__residence_permit WHERE city = '440300' GROUP BY 1""").fetchall())  # fmt: skip
    assert permits[True] > 0 and permits[False] > 0
    graduates = _scalar(db, "SELECT count(*) FROM education__degree WHERE year(graduation_date) = 2026")
    assert graduates > 10  # type: ignore[operator]
    changes = {r[0] for r in db.execute("SELECT DISTINCT change_item FROM enterprise__change").fetchall()}
    assert changes == {"名称", "法定代表人", "住所", "经营范围"}


def test_cli_rejects_bad_options_and_foreign_folders(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(city_app, ["generate", "--out", str(tmp_path / "x"), "--scale", "huge"])
    assert bad.exit_code != 0 and "未知规模" in bad.output
    negative = runner.invoke(city_app, ["generate", "--out", str(tmp_path / "x"), "--seed", "-1"])
    assert negative.exit_code != 0
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", "utf-8")
    refused = runner.invoke(city_app, ["generate", "--out", str(foreign)])
    assert refused.exit_code == 1 and "--force" in refused.output
    forced = runner.invoke(city_app, ["generate", "--out", str(foreign), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (foreign / "notes.txt").exists() and (foreign / "resources.yaml").exists()
    assert "enterprise.registry" in forced.output


def test_a_previous_city_output_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "city"
    generate_city(out, Scale("tiny", 300, 2_000))
    replaced = generate_city(out, Scale("tiny", 200, 1_500), seed=7)
    assert replaced.rows["enterprise.registry"] == 200
    assert pq.ParquetFile(out / "market_regulation/enterprise.registry.parquet").metadata.num_rows == 200


def test_invalid_scale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="未知规模"):
        generate_city(tmp_path / "x", "galaxy")
    with pytest.raises(ValueError):
        generate_city(tmp_path / "y", Scale("bad", 0, 10))
