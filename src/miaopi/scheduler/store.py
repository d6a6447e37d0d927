"""The durable job store: planning without duplicates, atomic claims under a lease, and the job's
effect committed in the same transaction as its ``done`` mark.

A job's life: **pending** → claimed (**running**, ``lease_owner`` and ``lease_expires_at`` set, one
attempt counted) → its handler's effect and ``done`` commit together. A runner killed mid-job
commits nothing: its lease runs out, another runner claims the job again and applies the effect,
once. A handler that raises rolls its effect back; the job returns to pending with a backoff, and
after ``max_attempts`` ends **failed** with the error. **cancelled** jobs are no longer wanted (the
case was decided, or its deadline moved); planning the same job again revives it.

Claims: PostgreSQL picks the next due job with ``FOR UPDATE SKIP LOCKED`` (concurrent runners take
different jobs, and never one whose effect another runner is committing); SQLite has one writer at a
time, so its conditional ``UPDATE … RETURNING`` is atomic as it is. Before running the handler the
runner re-asserts its lease with an ``UPDATE`` in the effect's transaction — a runner whose lease was
taken over finds it gone and stops, and a takeover waits for (then sees) the committed ``done``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, and_, func, or_, select, update
from sqlalchemy.orm import Session

from miaopi.scheduler.models import Job
from miaopi.store import Database
from miaopi.store.insert_new import dialect_insert

STATES = ("pending", "running", "done", "cancelled", "failed")


def utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Wanted:
    """A job a case needs: ``kind`` at ``due_at``, identified by ``due_key`` (e.g. the deadline)."""

    kind: str
    due_key: str
    due_at: dt.datetime


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    target: str
    due_key: str
    due_at: dt.datetime
    attempts: int  # including this one


class LeaseLost(RuntimeError):
    """Another runner took the job over after this runner's lease ran out."""


class JobStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    # ---- planning -----------------------------------------------------------------------------------

    def schedule(
        self, session: Session, target: str, wanted: Sequence[Wanted], kinds: Sequence[str], now: dt.datetime
    ) -> None:
        """Make ``target``'s pending jobs of ``kinds`` exactly ``wanted``, in the caller's transaction.

        A wanted job that exists is kept (never duplicated; a cancelled one is revived); a pending job
        no longer wanted is cancelled. Running, done and failed jobs are left as they are."""
        insert = dialect_insert(session)
        # Core-style updates: the session holds a batch of loaded cases, and the ORM's default
        # synchronisation would walk all of them for every statement.
        plain = {"synchronize_session": False}
        for job in wanted:
            session.execute(
                insert(Job)
                .values(
                    kind=job.kind,
                    target=target,
                    due_key=job.due_key,
                    due_at=job.due_at,
                    state="pending",
                    attempts=0,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["kind", "target", "due_key"])
            )
            key = and_(Job.kind == job.kind, Job.target == target, Job.due_key == job.due_key)
            session.execute(
                update(Job)
                .where(key, Job.state == "cancelled")
                .values(state="pending", due_at=job.due_at, attempts=0, last_error=None, finished_at=None),
                execution_options=plain,
            )
            # A changed due time (e.g. an item's reminder_days), but never undoing a failure's backoff.
            session.execute(
                update(Job)
                .where(key, Job.state == "pending", Job.attempts == 0, Job.due_at != job.due_at)
                .values(due_at=job.due_at),
                execution_options=plain,
            )
        stale = update(Job).where(Job.target == target, Job.state == "pending", Job.kind.in_(kinds))
        if wanted:
            stale = stale.where(
                ~or_(*(and_(Job.kind == job.kind, Job.due_key == job.due_key) for job in wanted))
            )
        session.execute(
            stale.values(state="cancelled", finished_at=now),
            execution_options={"synchronize_session": False},
        )

    def jobs(self, target: str | None = None, state: str | None = None) -> list[Job]:
        query = select(Job).order_by(Job.due_at, Job.id)
        if target is not None:
            query = query.where(Job.target == target)
        if state is not None:
            query = query.where(Job.state == state)
        with self.database.session() as session:
            return list(session.scalars(query))

    def count(self, state: str) -> int:
        with self.database.session() as session:
            return int(session.scalar(select(func.count()).select_from(Job).where(Job.state == state)) or 0)

    # ---- running ------------------------------------------------------------------------------------

    def claim(self, owner: str, now: dt.datetime, lease: dt.timedelta) -> Claimed | None:
        """Take the next due job (or one whose runner's lease ran out) under a lease, atomically."""
        due = and_(
            Job.due_at <= now,
            or_(Job.state == "pending", and_(Job.state == "running", Job.lease_expires_at < now)),
        )
        pick = (
            select(Job.id)
            .where(due)
            .order_by(Job.due_at, Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        with self.database.session() as session:
            row = session.execute(
                update(Job)
                .where(Job.id == pick, due)
                .values(
                    state="running",
                    lease_owner=owner,
                    lease_expires_at=now + lease,
                    attempts=Job.attempts + 1,
                )
                .returning(Job.id, Job.kind, Job.target, Job.due_key, Job.due_at, Job.attempts)
            ).first()
        if row is None:
            return None
        return Claimed(row.id, row.kind, row.target, row.due_key, utc(row.due_at), row.attempts)

    def hold(self, session: Session, job: Claimed, owner: str, now: dt.datetime, lease: dt.timedelta) -> None:
        """In the effect's transaction: re-assert the lease (and lock the job's row until commit)."""
        result = cast(
            CursorResult[Any],
            session.execute(
                update(Job)
                .where(Job.id == job.id, Job.state == "running", Job.lease_owner == owner)
                .values(lease_expires_at=now + lease)
            ),
        )
        if result.rowcount != 1:
            raise LeaseLost(f"job {job.id} was taken over by another runner")

    def done(self, session: Session, job: Claimed, outcome: str, now: dt.datetime) -> None:
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(
                state="done",
                outcome=outcome[:2000],
                finished_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
        )

    def failed(
        self, job: Claimed, owner: str, error: str, now: dt.datetime, retry_at: dt.datetime | None
    ) -> None:
        """Record a failed attempt: pending again at ``retry_at``, or failed for good (None)."""
        values: dict[str, Any] = {"last_error": error[:2000], "lease_owner": None, "lease_expires_at": None}
        if retry_at is None:
            values |= {"state": "failed", "finished_at": now}
        else:
            values |= {"state": "pending", "due_at": retry_at}
        with self.database.session() as session:
            session.execute(
                update(Job)
                .where(Job.id == job.id, Job.state == "running", Job.lease_owner == owner)
                .values(**values)
            )
