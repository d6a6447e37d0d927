"""Deadlines left open for a year the calendar does not know, said in the log without flooding it.

From about December every limit counted from today runs into a year ``chinesecalendar`` does not
know until the State Council's notice is out and the operator adds it (``calendar.yaml``). Each case
or offer is still handled with its deadline left open, never guessed; a log line for each would be a
line per application. :class:`UnknownYears` logs each missing year once, then once an hour, with the
count of deadlines left open for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from miaopi.clock.errors import CalendarUnknownYear

LOG_SECONDS = 3600.0  # how often the log repeats that a year is missing


class UnknownYears:
    def __init__(
        self,
        log: logging.Logger,
        what: str,
        *,
        every: float = LOG_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.what = what  # what was left open, in the log line: "cases left without a deadline"
        self.every = every
        self.clock = clock
        self._left_open: dict[str, int] = {}
        self._logged: dict[str, float] = {}
        self._lock = threading.Lock()

    def left_open(self, error: CalendarUnknownYear) -> None:
        """One more deadline left open because of ``error``: logged when its year is new to this
        report or was last logged ``every`` seconds ago."""
        problem = str(error)
        with self._lock:
            count = self._left_open[problem] = self._left_open.get(problem, 0) + 1
            now = self.clock()
            due = problem not in self._logged or now - self._logged[problem] >= self.every
            if due:
                self._logged[problem] = now
        if due:
            self.log.error("working calendar: %s (%s so far: %d)", problem, self.what, count)
