"""A durable scheduler for the legal clock: reminders before the statutory deadline, escalation of
overdue cases to the department's head, and deemed approval of renewals (行政许可法 §50).

Jobs live in the case store (``scheduler_job``), are planned without duplicates, claimed atomically
under a lease, and commit their effect together with their ``done`` mark: a job never fires twice,
even when its runner is killed mid-run. Works on SQLite and PostgreSQL.
"""

from miaopi.scheduler.planning import DEEMED_APPROVAL, ESCALATION, KINDS, REMINDER, reminder_day, wanted_jobs
from miaopi.scheduler.runner import Handler, RoundReport, Scheduler, runner_name, utc_now
from miaopi.scheduler.store import Claimed, JobStore, Wanted

__all__ = [
    "DEEMED_APPROVAL",
    "ESCALATION",
    "KINDS",
    "REMINDER",
    "Claimed",
    "Handler",
    "JobStore",
    "RoundReport",
    "Scheduler",
    "Wanted",
    "reminder_day",
    "runner_name",
    "utc_now",
    "wanted_jobs",
]
