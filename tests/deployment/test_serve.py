"""``miaopi serve`` and ``miaopi init`` as a user runs them: real processes, real HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.livehttp import free_port, wait_until_answering
from tests.served import apply_for_allowance, elderly_applicant, writer_process

MIAOPI = [sys.executable, "-m", "miaopi"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MIAOPI, *args], capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    data_dir = tmp_path_factory.mktemp("served") / "data"
    port = free_port()
    env = {**os.environ, "MIAOPI_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [*MIAOPI, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(process, f"{base}/api/v1/health", seconds=180)
        yield base, data_dir, process
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        (data_dir.parent / "serve.log").write_text(output or "", encoding="utf-8")


def test_serve_initialises_an_empty_data_directory_from_the_environment(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    base, data_dir, _ = served
    assert (data_dir / "miaopi.json").exists()
    assert (data_dir / "city" / "resources.yaml").exists()
    assert (data_dir / "miaopi.db").exists()
    marker = json.loads((data_dir / "miaopi.json").read_text(encoding="utf-8"))
    assert marker["city_scale"] == "demo"
    health = httpx.get(f"{base}/api/v1/health").json()
    assert health["status"] == "ok" and health["database"] == "sqlite"
    assert health["resources"] >= 20


def test_serve_publishes_openapi(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    base, _, _ = served
    document = httpx.get(f"{base}/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.") and "/api/v1/health" in document["paths"]


def test_served_resource_catalogue_matches_the_generated_city(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    base, _, _ = served
    codes = {resource["code"] for resource in httpx.get(f"{base}/api/v1/sharing/resources").json()}
    assert {"population.person", "enterprise.registry", "traffic.penalty_points"} <= codes


def test_init_is_idempotent_and_refuses_a_foreign_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = run("init", "--data-dir", str(data_dir))
    assert first.returncode == 0, first.stdout + first.stderr
    before = (data_dir / "miaopi.json").read_bytes()
    second = run("init", "--data-dir", str(data_dir))
    assert second.returncode == 0 and (data_dir / "miaopi.json").read_bytes() == before
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("私人文件", encoding="utf-8")
    refused = run("init", "--data-dir", str(foreign))
    assert refused.returncode == 2
    assert "不为空" in refused.stderr and "Traceback" not in refused.stderr
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "私人文件"
    assert sorted(path.name for path in foreign.iterdir()) == ["notes.txt"]


def _elderly_shenzhen_resident(data_dir: Path) -> str:
    import duckdb

    person = data_dir / "city" / "public_security" / "population.person.parquet"
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT id_number FROM read_parquet('{person}') WHERE hukou_city = '440300' AND death_date IS NULL "
            "AND birth_date < DATE '1950-01-01' ORDER BY id_number LIMIT 1"
        )
        .fetchall()
    )
    assert rows
    return str(rows[0][0])


def test_demo_token_and_an_instant_decision_over_http(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    base, data_dir, _ = served
    person = _elderly_shenzhen_resident(data_dir)
    env = {**os.environ, "MIAOPI_DATA_DIR": str(data_dir)}
    issued = run("token", "--as", person, env=env)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    application = {
        "item_code": "440306-MZ-0001",
        "applicant": {"id": person},
        "form": {"bank_account": "6222020200000000000"},
        "materials": [],
        "commitments": ["深圳市高龄老人津贴申请（变更）表", "银行存折或银行卡"],
        "idempotency_key": "demo-1",
    }
    response = httpx.post(
        f"{base}/api/v1/applications", json=application, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    decision = response.json()
    assert decision["status"] in ("approved", "review")
    assert decision["explanation"] and all(rule["legal_basis"] for rule in decision["explanation"])
    progress = httpx.get(f"{base}/api/v1/progress/{decision['case_no']}").json()
    assert person not in json.dumps(progress)
    replayed = run("replay", decision["case_no"], env=env)
    assert replayed.returncode == 0 and "identical" in replayed.stdout
    audit = run("audit", "verify", env=env)
    assert audit.returncode == 0 and "审计链完整" in audit.stdout


def test_one_worker_commits_through_a_writer_process_and_goes_on_without_it(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    """SQLite: even one worker sends its decided cases to a writer process (the commits run on the
    other core). Killed, it loses nothing: the worker stores its cases itself until it is back."""
    base, data_dir, process = served
    person, token = elderly_applicant(data_dir)
    first = apply_for_allowance(base, person, token, "writer-1")
    writer = writer_process(process.pid)
    os.kill(writer, signal.SIGKILL)
    second = apply_for_allowance(base, person, token, "writer-2")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with contextlib.suppress(LookupError):
            if writer_process(process.pid) != writer:
                break
        time.sleep(0.2)
    assert writer_process(process.pid) != writer
    third = apply_for_allowance(base, person, token, "writer-3")
    assert len({first, second, third}) == 3


def test_demo_tokens_are_refused_in_production_configuration(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    _, data_dir, _ = served
    env = {**os.environ, "MIAOPI_DATA_DIR": str(data_dir), "MIAOPI_DEMO_MODE": "0"}
    refused = run("token", "--as", _elderly_shenzhen_resident(data_dir), env=env)
    assert refused.returncode == 2 and "生产配置" in refused.stderr


def test_token_for_an_invalid_or_unknown_subject_is_refused(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    _, data_dir, _ = served
    env = {**os.environ, "MIAOPI_DATA_DIR": str(data_dir)}
    invalid = run("token", "--as", "110105194912310021", env=env)
    assert invalid.returncode == 2 and "校验码" in invalid.stderr
    unknown = run("token", "--as", "11010519491231002X", env=env)
    assert unknown.returncode == 1 and "人口库中没有" in unknown.stderr


def test_demo_subjects_command_lists_identifiers_for_trying_it_out(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    _, data_dir, _ = served
    env = {**os.environ, "MIAOPI_DATA_DIR": str(data_dir)}
    listed = run(
        "sharing",
        "subjects",
        "population.person",
        "--where",
        "hukou_city = '440300'",
        "--limit",
        "3",
        env=env,
    )
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.split()) == 3
    broken = run("sharing", "subjects", "population.person", "--where", "nonsense ===", env=env)
    assert broken.returncode == 2 and "条件有误" in broken.stderr and "Traceback" not in broken.stderr


def test_screen_command_on_the_demo_city(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    _, data_dir, _ = served
    env = {**os.environ, "MIAOPI_DATA_DIR": str(data_dir)}
    ran = run("screen", "--as-of", "2026-11-22", env=env)
    assert ran.returncode == 0, ran.stderr
    assert (data_dir / "screening" / "2026-11-22.parquet").exists()
    assert "稳岗返还" in ran.stdout and "符合" in ran.stdout
    refused = run("screen", "--policy", "nope", env=env)
    assert refused.returncode == 2 and "没有政策 nope" in refused.stderr
    bad_date = run("screen", "--as-of", "2026-13-01", env=env)
    assert bad_date.returncode == 2 and "--as-of" in bad_date.stderr


def test_a_warmed_deployment_keeps_its_indexes_out_of_garbage_collection(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    """What ``warm`` built lives as long as the process: frozen, the collector never walks it again."""
    _, data_dir, _ = served
    probe = (
        "import gc, sys\n"
        "from miaopi.config import load_settings\n"
        "from miaopi.deployment import Deployment\n"
        "deployment = Deployment.open(load_settings(sys.argv[1]))\n"
        "before = gc.get_freeze_count()\n"
        "deployment.warm()\n"
        "print(before, gc.get_freeze_count(), gc.get_threshold()[0])\n"
        "deployment.close()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(data_dir)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    before, frozen, threshold = map(int, result.stdout.split())
    assert before == 0 and frozen > 10_000 and threshold == 50_000
