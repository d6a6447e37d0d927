"""Fixtures: a notifications service over a real case store, with a clock the test moves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from miaopi.notifications import NotificationConfig, Notifications, Templates
from miaopi.store import Database

PERSON = "11010519491231002X"  # GB 11643's worked example
OTHER_PERSON = "440524188001010014"
ENTERPRISE = "91350100M0001TGQXM"  # a pilot credit code (GB 32100)
OFFICER = "officer:reviewer1"


class Clock:
    """A clock that moves only when the test says so."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def notifications(database: Database, clock: Clock) -> Iterator[Notifications]:
    yield Notifications(database, Templates.load(), NotificationConfig.development(), clock=clock)


OFFER = {"policy": "老年综合津贴", "amount": "每月 75 元", "deadline": "2026-12-31"}
