"""The override file is validated strictly: every mistake names the file, the year and the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from miaopi.clock import CalendarFileError, WorkingCalendar
from tests.clock.conftest import PLAUSIBLE_2027, WriteYaml

COMPLETE = "2027:\n  complete: true\n"


@pytest.mark.parametrize(
    ("text", "year", "entry", "fragment"),
    [
        pytest.param(
            COMPLETE + "  holidays: [2027-02-30]\n", 2027, "2027-02-30", "不是有效日期", id="bad-date"
        ),
        pytest.param(
            COMPLETE + "  holidays: [2027-13-01]\n", 2027, "2027-13-01", "不是有效日期", id="bad-month"
        ),
        pytest.param(
            COMPLETE + "  holidays: [二月五日]\n", 2027, "二月五日", "不是有效日期", id="not-a-date"
        ),
        pytest.param(
            COMPLETE + "  holidays: [2027-01-01 09:00:00]\n",
            2027,
            "2027-01-01 09:00:00",
            "不是有效日期",
            id="datetime",
        ),
        pytest.param(COMPLETE + "  holidays: [20270101]\n", 2027, "20270101", "条目应为日期", id="number"),
        pytest.param(
            COMPLETE + "  holidays: [2027-01-01]\n  workdays: [2027-01-01]\n",
            2027,
            "2027-01-01 / 2027-01-01",
            "同时列为放假",
            id="holiday-and-workday",
        ),
        pytest.param(
            COMPLETE + "  holidays: [2027-10-01..2027-10-07]\n  workdays: [2027-10-02]\n",
            2027,
            "2027-10-01..2027-10-07 / 2027-10-02",
            "2027-10-02 同时列为放假",
            id="workday-inside-a-holiday-range",
        ),
        pytest.param(
            COMPLETE + "  holidays: [2028-01-01]\n", 2027, "2028-01-01", "不在 2027 年内", id="other-year"
        ),
        pytest.param(
            COMPLETE + "  holidays: [2027-12-31..2028-01-02]\n",
            2027,
            "2027-12-31..2028-01-02",
            "不在 2027 年内",
            id="range-leaves-year",
        ),
        pytest.param(
            COMPLETE + "  holidays: [2027-10-07..2027-10-01]\n",
            2027,
            "2027-10-07..2027-10-01",
            "早于",
            id="reversed",
        ),
        pytest.param(
            COMPLETE + "  holidays: [2027-10-01..]\n",
            2027,
            "2027-10-01..",
            "两端都是有效日期",
            id="half-range",
        ),
        pytest.param(
            COMPLETE + "  holidays: [2027-10-01, 2027-10-01..2027-10-03]\n",
            2027,
            "2027-10-01..2027-10-03",
            "重复",
            id="overlap",
        ),
        pytest.param(
            COMPLETE + "  holidays: [2027-01-01]\n  workdays: [2027-02-20..2027-02-21]\n",
            2027,
            "2027-02-20..2027-02-21",
            "不能是区间",
            id="workday-range",
        ),
        pytest.param(
            COMPLETE + "  holidays: [2027-01-01]\n  workdays: [2027-02-22]\n",
            2027,
            "2027-02-22",
            "本就上班",
            id="weekday-as-workday",
        ),
        pytest.param(
            COMPLETE + "  holidays: 2027-01-01\n", 2027, "holidays: 2027-01-01", "应为列表", id="not-list"
        ),
        pytest.param(
            "2027:\n  complete: 是\n  holidays: [2027-01-01]\n",
            2027,
            "complete: 是",
            "true 或 false",
            id="complete-text",
        ),
        pytest.param(COMPLETE + "  holiday: [2027-01-01]\n", 2027, "holiday", "未知的键", id="typo-key"),
        pytest.param(COMPLETE, 2027, None, "没有列出任何放假日期", id="complete-but-empty"),
        pytest.param(
            "2027:\n  holidays: [2027-01-01]\n", 2027, None, "complete: true", id="unknown-year-not-complete"
        ),
        pytest.param(
            "2026:\n  workdays: [2026-03-02]\n", 2026, "2026-03-02", "本就是工作日", id="patch-no-effect"
        ),
        pytest.param("二〇二七:\n  complete: true\n", None, "二〇二七", "年份", id="bad-year-key"),
        pytest.param("3027:\n  complete: true\n", None, "3027", "年份", id="year-out-of-range"),
        pytest.param("2027: [2027-01-01]\n", 2027, None, "每一年应为映射", id="year-not-mapping"),
        pytest.param(
            "2027:\n  complete: true\n  holidays: [2027-01-01]\n'2027':\n  complete: true\n  holidays: [2027-01-02]\n",
            2027,
            "2027",
            "年份重复",
            id="duplicate-year",
        ),
    ],
)
def test_malformed_entries(
    write_yaml: WriteYaml, text: str, year: int | None, entry: str | None, fragment: str
) -> None:
    path = write_yaml(text)
    with pytest.raises(CalendarFileError) as caught:
        WorkingCalendar.load(path)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.path == path
    assert str(path) in str(error)
    matching = [p for p in error.problems if fragment in p.message]
    assert matching, error.problems
    assert matching[0].year == year
    assert matching[0].entry == entry
    if year is not None:
        assert f"{year} 年" in str(error)
    if entry is not None:
        assert repr(entry) in str(error)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("2027:\n  complete: true\n  holidays: [2027-01-01\n", "YAML 语法错误", id="syntax"),
        pytest.param("- 2027-01-01\n", "顶层应为以年份为键的映射", id="top-level-list"),
        pytest.param(
            "2027:\n  complete: true\n  holidays: [2027-01-01]\n  holidays: [2027-01-02]\n",
            "重复",
            id="duplicate-key",
        ),
    ],
)
def test_malformed_files(write_yaml: WriteYaml, text: str, fragment: str) -> None:
    path = write_yaml(text)
    with pytest.raises(CalendarFileError, match=fragment) as caught:
        WorkingCalendar.load(path)
    assert str(path) in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    with pytest.raises(CalendarFileError, match="文件不存在") as caught:
        WorkingCalendar.load(path)
    assert str(path) in str(caught.value)


def test_all_problems_reported_at_once(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "2027:\n  complete: true\n  holidays: [2027-02-30, 2028-01-01]\n  workdays: [2027-02-22]\n"
        "2028:\n  holidays: [2028-01-01]\n"
    )
    with pytest.raises(CalendarFileError) as caught:
        WorkingCalendar.load(path)
    entries = {(p.year, p.entry) for p in caught.value.problems}
    assert {(2027, "2027-02-30"), (2027, "2028-01-01"), (2027, "2027-02-22"), (2028, None)} <= entries


def test_quoted_and_unpadded_dates_are_accepted(write_yaml: WriteYaml) -> None:
    text = PLAUSIBLE_2027.replace("- 2027-06-09", "- '2027-6-9'")
    assert text != PLAUSIBLE_2027
    cal = WorkingCalendar.load(write_yaml(text))
    assert cal.known_years[-1] == 2027
