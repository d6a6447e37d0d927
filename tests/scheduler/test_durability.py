"""Durability: a runner killed mid-job leaves no trace of that job's effect, and a new runner applies
every effect exactly once; two runners at once never execute the same job."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy.orm import Session

from miaopi.audit import AuditLog
from miaopi.scheduler import Claimed, Handler
from tests.approval.conftest import World
from tests.approval.world import ALICE, EVE, FRANK
from tests.scheduler.blocking_runner import OWNER
from tests.scheduler.conftest import Clock, count_audit, count_steps, jobs, scheduler, submit, utc

ROOT = Path(__file__).resolve().parents[2]
OVERDUE = utc("2026-12-19T00:00:00")  # after every reminder and escalation of the cases below


def test_a_runner_killed_mid_job_is_finished_by_another_exactly_once(
    world: World, database_url: str, tmp_path: Path
) -> None:
    cases = [submit(world, who, "k")["case_no"] for who in (ALICE, EVE, FRANK)]
    scheduler(world, Clock(utc("2026-11-23T00:00:00"))).reconcile()
    assert len(jobs(world, state="pending")) == 6
    started, release = tmp_path / "started", tmp_path / "release"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.scheduler.blocking_runner",
            str(world.data_dir),
            database_url,
            OVERDUE.isoformat(),
            str(started),
            str(release),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        give_up = time.monotonic() + 120  # a guard against hanging, not an assertion on timing
        while not started.exists():
            if process.poll() is not None:
                _out, err = process.communicate()
                raise AssertionError(f"the runner ended before blocking: {err.decode(errors='replace')}")
            assert time.monotonic() < give_up, "the runner never reached the blocking job"
            time.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    killed_job = int(started.read_text(encoding="utf-8"))
    # The killed runner's reminders were committed; its escalation was not, and is still leased to it.
    (running,) = jobs(world, state="running")
    assert running.id == killed_job and running.lease_owner == OWNER and running.kind == "escalation"
    assert len(jobs(world, state="done")) == 3
    assert sum(count_steps(world, case_no, "escalated") for case_no in cases) == 0
    # A new runner, once the dead runner's lease has run out (5 minutes), finishes everything.
    report = scheduler(world, Clock(OVERDUE + dt.timedelta(minutes=6))).run_once()
    assert report.done == 3
    assert {job.state for job in jobs(world)} == {"done"}
    for case_no in cases:
        assert count_steps(world, case_no, "escalated") == 1
        assert count_audit(world, case_no, "review.escalated") == 1
        assert count_audit(world, case_no, "review.reminded") == 1
    (retaken,) = [job for job in jobs(world) if job.id == killed_job]
    assert retaken.attempts == 2 and retaken.lease_owner is None
    with world.deployment.database.session() as session:
        assert AuditLog().verify(session).ok


def test_two_runners_at_once_never_execute_the_same_job(world: World) -> None:
    cases = [submit(world, who, f"k{n}")["case_no"] for n in range(4) for who in (ALICE, EVE, FRANK)]
    scheduler(world, Clock(utc("2026-11-23T00:00:00"))).reconcile()
    total = len(jobs(world, state="pending"))
    assert total == 2 * len(cases)
    executed: list[tuple[str, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def runner(name: str) -> None:
        d = world.deployment
        originals = d.scheduler.handlers

        def recording(kind: str) -> Handler:
            def handle(session: Session, job: Claimed, at: dt.datetime) -> str:
                with lock:
                    executed.append((name, job.id))
                return originals[kind](session, job, at)

            return handle

        this = scheduler(
            world,
            Clock(OVERDUE),
            owner=name,
            handlers={kind: recording(kind) for kind in ("reminder", "escalation")},
        )
        barrier.wait()
        while this.run_once().done:
            pass

    threads = [threading.Thread(target=runner, args=(name,)) for name in ("runner-a", "runner-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [job_id for _name, job_id in executed]
    assert len(ids) == len(set(ids)) == total
    assert {job.state for job in jobs(world)} == {"done"}
    for case_no in cases:
        assert count_steps(world, case_no, "escalated") == 1
        assert count_audit(world, case_no, "review.reminded") == 1
