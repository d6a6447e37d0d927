"""``miaopi notifications …`` and the dispatcher thread ``miaopi serve`` starts: real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from miaopi.config import load_settings
from miaopi.deployment import Deployment, DeploymentError
from miaopi.notifications.cli import notifications_app
from miaopi.notifications.models import Delivery
from tests.livehttp import free_port
from tests.notifications.conftest import OFFER, PERSON
from tests.notifications.gateways import GatewayScript, http_gateway
from tests.sharing.conftest import write_catalogue


def prepared(data_dir: Path) -> Deployment:
    settings = load_settings(data_dir)
    write_catalogue(settings.city_dir)
    settings.catalog_dir.mkdir(parents=True)
    from miaopi.store import Database

    Database(settings.database_url).migrate()
    settings.marker.write_text(json.dumps({"version": "test"}), encoding="utf-8")
    return Deployment.open(settings)


def enqueue(deployment: Deployment, *channels: str) -> str:
    with deployment.database.session() as session:
        return deployment.notifications.enqueue(
            session, recipient=PERSON, template="offer.made", variables=OFFER, channels=channels
        )


def test_dispatch_once_sends_what_is_due_and_stats_count_it(tmp_path: Path) -> None:
    deployment = prepared(tmp_path / "data")
    enqueue(deployment, "inbox", "sms")
    enqueue(deployment, "inbox")
    deployment.close()
    runner = CliRunner()
    result = runner.invoke(notifications_app, ["dispatch", "--once", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert "已送达 2" in result.output and "发送失败 1" in result.output  # sms: no number registered
    again = runner.invoke(notifications_app, ["dispatch", "--once", "--data-dir", str(tmp_path / "data")])
    assert "没有待发送的通知" in again.output
    stats = runner.invoke(notifications_app, ["stats", "--data-dir", str(tmp_path / "data")])
    assert stats.exit_code == 0 and "站内信" in stats.output and "仅记录（未配置）" in stats.output
    listed = runner.invoke(notifications_app, ["templates", "--data-dir", str(tmp_path / "data")])
    assert "offer.made" in listed.output and "review.escalation" in listed.output
    purged = runner.invoke(
        notifications_app, ["purge", "--older-than", "30", "--data-dir", str(tmp_path / "data")]
    )
    assert purged.exit_code == 0 and "已删除 0 条" in purged.output  # everything is recent


def test_a_broken_template_override_stops_the_deployment_with_the_reason(tmp_path: Path) -> None:
    deployment = prepared(tmp_path / "data")
    deployment.close()
    (tmp_path / "data" / "catalog" / "notifications.yaml").write_text(
        "templates:\n  x.y:\n    title: t\n    text: '{who}'\n", encoding="utf-8"
    )
    result = CliRunner().invoke(notifications_app, ["stats", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 2
    assert "通知配置有误" in result.output and "占位符 {who} 未在 variables 中声明" in result.output


def test_serve_runs_the_dispatcher_in_the_background(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    deployment = prepared(data_dir)
    account = deployment.accounts.ensure_applicant(PERSON, verified=True)
    headers = {"Authorization": f"Bearer {deployment.accounts.issue_token(account.id)}"}
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "miaopi", "serve", "--port", str(port), "--no-scheduler"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "MIAOPI_DATA_DIR": str(data_dir)},
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        message_id = enqueue(deployment, "inbox")
        deadline = time.monotonic() + 120
        seen: list[str] = []
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.get(f"{base}/inbox", headers=headers, timeout=5)
                if answer.status_code == 200:
                    seen = [message["id"] for message in answer.json()["messages"]]
                    if seen:
                        break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert seen == [message_id], (
            process.stdout.read() if process.poll() is not None and process.stdout else ""
        )
    finally:
        process.terminate()
        process.communicate(timeout=30)
        deployment.close()


def test_a_production_deployment_without_gateways_says_so_in_health(tmp_path: Path) -> None:
    prepared(tmp_path / "data").close()
    settings = replace(load_settings(tmp_path / "data"), demo_mode=False)
    deployment = Deployment.open(settings)
    try:
        assert "以下通知渠道未配置网关，只记录不发送：sms、wechat、email" in deployment.problems
    finally:
        deployment.close()
    (tmp_path / "data" / "notifications.yaml").write_text(
        "channels:\n  sms: {gateway: http, url: 'ftp://x'}\n", encoding="utf-8"
    )
    with pytest.raises(DeploymentError, match=r"channels\.sms\.url 应为 http"):
        Deployment.open(settings)


def test_two_dispatcher_processes_never_send_a_message_twice(tmp_path: Path, database_url: str) -> None:
    # The gateway holds the first request until the second process sends too: they overlap for sure.
    barrier = threading.Barrier(2)
    arrivals = iter(range(10**6))

    def both_sending() -> None:
        if next(arrivals) < 2:
            barrier.wait(timeout=120)

    script = GatewayScript(on_request=both_sending)
    with http_gateway(script) as url:
        settings = load_settings(tmp_path / "data", database_url)
        write_catalogue(settings.city_dir)
        settings.catalog_dir.mkdir(parents=True)
        settings.marker.write_text(json.dumps({"version": "test"}), encoding="utf-8")
        (tmp_path / "data" / "notifications.yaml").write_text(
            # The held request must outlast the second process's start, however loaded the machine.
            yaml.safe_dump(
                {
                    "channels": {
                        "sms": {
                            "gateway": "http",
                            "url": url,
                            "rate_per_second": 100000,
                            "timeout_seconds": 140,
                        }
                    }
                }
            ),
            encoding="utf-8",
        )
        deployment = Deployment.open(settings)
        subject = deployment.accounts.ensure_applicant(PERSON, verified=True)
        principal = deployment.accounts.resolve(deployment.accounts.issue_token(subject.id))
        deployment.notifications.set_contact(principal, "sms", "13812345678")
        with deployment.database.session() as session:
            ids = [
                deployment.notifications.enqueue(
                    session, recipient=PERSON, template="offer.made", variables=OFFER, channels=("sms",)
                )
                for _ in range(100)
            ]
        env = {**os.environ, "MIAOPI_DATA_DIR": str(tmp_path / "data"), "MIAOPI_DATABASE_URL": database_url}
        command = [sys.executable, "-m", "miaopi", "notifications", "dispatch", "--once"]
        processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [process.communicate(timeout=300)[0] for process in processes]
        assert [process.returncode for process in processes] == [0, 0], outputs
    with deployment.database.session() as session:
        sent = session.scalar(select(func.count()).where(Delivery.status == "sent"))
    deployment.close()
    references = Counter(str(body["reference"]) for body in script.received)
    assert sent == 100 and set(references) == set(ids) and set(references.values()) == {1}
