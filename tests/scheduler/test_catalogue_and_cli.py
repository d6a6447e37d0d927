"""How an item declares deemed approval (checked by the catalogue loader), and the commands."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from miaopi.catalog import DEMO_CATALOG, Catalog, CatalogError
from miaopi.sharing import ResourceCatalogue
from tests.approval.conftest import World
from tests.approval.world import FRANK
from tests.livehttp import free_port
from tests.scheduler.conftest import jobs, submit
from tests.scheduler.world import write_renewal_world

ROOT = Path(__file__).resolve().parents[2]


def load_with(tmp_path: Path, old: str, new: str) -> Catalog:
    data_dir = tmp_path / "data"
    write_renewal_world(data_dir)
    item = data_dir / "catalog" / "items" / "permit-renewal.yaml"
    text = item.read_text(encoding="utf-8")
    assert old in text
    item.write_text(text.replace(old, new), encoding="utf-8")
    return Catalog.load(data_dir / "catalog", ResourceCatalogue.load(data_dir / "city" / "resources.yaml"))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "expiry_fact: person.permit_expiry",
            "expiry_fact: person.hukou_city",
            "应为本事项可读取的日期型事实",
        ),
        ("expiry_fact: person.permit_expiry", "expiry_fact: person.birth_date", "须由每个版本的规则读取"),
        ("expiry_fact: person.permit_expiry", "expiry_fact: person.nowhere", "应为本事项可读取的日期型事实"),
        ("item_type: 行政许可", "item_type: 公共服务", "只适用于行政许可事项"),
        (
            "deemed_approval: {expiry_fact: person.permit_expiry}",
            "deemed_approval: yes",
            "deemed_approval 应为",
        ),
        ("reminder_days: 2", "reminder_days: 0", "reminder_days 应为 1–60"),
    ],
)
def test_the_loader_checks_deemed_approval_and_reminder_days(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(CatalogError) as raised:
        load_with(tmp_path, old, new)
    assert message in str(raised.value) and "permit-renewal.yaml" in str(raised.value)


def test_a_valid_declaration_loads(tmp_path: Path) -> None:
    item = load_with(tmp_path, "reminder_days: 2", "reminder_days: 5").items["440300-SC-0001"]
    assert item.deemed_approval is not None and item.deemed_approval.expiry_fact == "person.permit_expiry"
    assert item.reminder_days == 5


def test_the_demo_renewals_under_section_50_declare_their_expiry_fact() -> None:
    from miaopi.city import builtin_resource_catalogue

    catalog = Catalog.load(DEMO_CATALOG, builtin_resource_catalogue())
    deemed = {
        code: item.deemed_approval.expiry_fact for code, item in catalog.items.items() if item.deemed_approval
    }
    assert deemed == {
        "440112-WJ-0001": "enterprise.hygiene_licence_expiry",  # 公共场所卫生许可证延续
        "370200-RS-0001": "enterprise.hr_service_licence_expiry",  # 经营性人力资源服务机构许可延续
    }


def miaopi(world: World, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MIAOPI_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "miaopi", *args, "--data-dir", str(world.data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )


def test_scheduler_commands(world: World, database_url: str) -> None:
    case_no = submit(world, FRANK, "a")["case_no"]
    once = miaopi(world, database_url, "scheduler", "run", "--once")
    assert once.returncode == 0, once.stderr
    assert "重新规划 1 个办件" in once.stdout
    assert {job.kind for job in jobs(world, case_no)} == {"reminder", "escalation"}
    listed = miaopi(world, database_url, "scheduler", "jobs", "--case", case_no)
    assert listed.returncode == 0, listed.stderr
    assert "到期提醒" in listed.stdout and "超期督办" in listed.stdout and "待执行" in listed.stdout
    bad = miaopi(world, database_url, "scheduler", "jobs", "--state", "later")
    assert bad.returncode == 2 and "--state 应为" in bad.stdout


def test_serve_runs_the_scheduler_in_the_background(world: World, database_url: str) -> None:
    case_no = submit(world, FRANK, "a")["case_no"]
    assert jobs(world, case_no) == []
    port = free_port()
    env = {**os.environ, "MIAOPI_DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "miaopi", "serve", "--port", str(port), "--data-dir", str(world.data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        give_up = time.monotonic() + 120  # a guard against hanging, not an assertion on timing
        while not jobs(world, case_no):
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < give_up, "the served scheduler never planned the case"
            time.sleep(0.2)
        while True:  # and it serves
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < give_up, "miaopi serve never answered"
            time.sleep(0.2)
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert {job.kind for job in jobs(world, case_no)} == {"reminder", "escalation"}


def test_scheduler_run_keeps_running_until_terminated(world: World, database_url: str) -> None:
    case_no = submit(world, FRANK, "a")["case_no"]
    env = {**os.environ, "MIAOPI_DATABASE_URL": database_url}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "miaopi",
            "scheduler",
            "run",
            "--interval",
            "0.2",
            "--data-dir",
            str(world.data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        give_up = time.monotonic() + 120  # a guard against hanging, not an assertion on timing
        while not jobs(world, case_no):
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < give_up, "the runner never planned the case"
            time.sleep(0.2)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "调度器运行中" in output
