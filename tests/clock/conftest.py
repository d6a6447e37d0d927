"""Shared fixtures: the package-only calendar and a small, plausible 2027 override file.

The 2027 arrangement below is invented for tests in the shape of a real notice (New Year, Spring
Festival around 2027-02-06, National Day week); it is NOT the official 2027 calendar.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from miaopi.clock import WorkingCalendar

WriteYaml = Callable[..., Path]

PLAUSIBLE_2027 = """\
# Test data in the shape of a State Council notice; not the official 2027 arrangement.
2027:
  complete: true
  source: 测试用的 2027 年安排（非官方）
  holidays:
    - 2027-01-01..2027-01-03
    - 2027-02-05..2027-02-13
    - 2027-04-03..2027-04-05
    - 2027-05-01..2027-05-05
    - 2027-06-09
    - 2027-09-15
    - 2027-10-01..2027-10-07
  workdays:
    - 2027-02-20
    - 2027-04-25
    - 2027-05-08
    - 2027-09-26
    - 2027-10-09
"""


@pytest.fixture(scope="session")
def calendar() -> WorkingCalendar:
    return WorkingCalendar.load(None)


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "calendar.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def calendar_2027(write_yaml: Callable[..., Path]) -> WorkingCalendar:
    return WorkingCalendar.load(write_yaml(PLAUSIBLE_2027))
