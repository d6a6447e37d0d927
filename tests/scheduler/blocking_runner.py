"""A scheduler runner for the kill test, run as ``python -m tests.scheduler.blocking_runner DATA_DIR
DATABASE_URL NOW STARTED RELEASE``.

It runs one round at the fixed moment ``NOW`` (ISO, UTC). Its escalation handler applies the
escalation, writes the job's id to ``STARTED`` and then waits for ``RELEASE`` to appear — with the
effect applied but not committed, which is where the test kills it with SIGKILL.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

from sqlalchemy.orm import Session

from miaopi.config import load_settings
from miaopi.deployment import Deployment
from miaopi.scheduler import Claimed, Scheduler
from tests.approval.conftest import TODAY

OWNER = "doomed-runner"


def main() -> None:
    data_dir, url, now, started, release = sys.argv[1:]
    moment = dt.datetime.fromisoformat(now)
    deployment = Deployment.open(load_settings(Path(data_dir), url), today=lambda: TODAY)
    escalate = deployment.scheduler.handlers["escalation"]

    def blocking(session: Session, job: Claimed, at: dt.datetime) -> str:
        outcome = escalate(session, job, at)
        session.flush()  # the step, the alert and the audit entry are written, not committed
        announced = Path(f"{started}.part")
        announced.write_text(str(job.id), encoding="utf-8")
        announced.replace(started)  # atomically: the test never reads it half-written
        while not Path(release).exists():
            time.sleep(0.05)
        return outcome

    runner = Scheduler(
        deployment.alerts,
        deployment.catalog,
        deployment.calendar,
        now=lambda: moment,
        owner=OWNER,
        handlers={"escalation": blocking},
    )
    runner.run_once()


if __name__ == "__main__":
    main()
