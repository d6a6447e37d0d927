"""Errors raised by the working-day calendar."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

OVERRIDE_HINT = (
    "写入 complete: true，并按国务院办公厅公布的节假日安排通知列出 holidays（放假日期或区间）"
    "和 workdays（调休上班的周六、周日）"
)


class CalendarUnknownYear(ValueError):
    """A date falls in a year for which neither chinesecalendar nor the override file has a calendar.

    The calendar never guesses from weekends: a wrong working-day count would put a legal deadline on
    the wrong day. ``year`` is the missing year, ``known_years`` what the calendar does know.
    """

    def __init__(self, year: int, known_years: tuple[int, ...], override_path: Path | None) -> None:
        self.year = year
        self.known_years = known_years
        self.override_path = override_path
        where = (
            f"日历覆盖文件 {override_path} 也未声明该年"
            if override_path is not None
            else "且未加载日历覆盖文件"
        )
        fix_file = (
            f"日历覆盖文件 {override_path} "
            if override_path is not None
            else "日历覆盖文件（如 calendar.yaml）"
        )
        super().__init__(
            f"不知道 {year} 年的节假日安排：日历只含 {describe_years(known_years)} 年，{where}。"
            f"为免算错法定期限，不按周末推算。请在{fix_file}中为 {year} 年{OVERRIDE_HINT}，"
            f"然后重新加载日历。"
        )


@dataclass(frozen=True, order=True)
class CalendarProblem:
    """One mistake in an override file: the year and the entry as written, when they apply."""

    year: int | None
    entry: str | None
    message: str

    def __str__(self) -> str:
        place = []
        if self.year is not None:
            place.append(f"{self.year} 年")
        if self.entry is not None:
            place.append(f"条目 {self.entry!r}")
        return f"{' '.join(place)}：{self.message}" if place else self.message


class CalendarFileError(ValueError):
    """The override file is malformed; ``problems`` lists every mistake found, each with year and entry."""

    def __init__(self, path: Path, problems: list[CalendarProblem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        lines = "\n".join(f"  {path}: {problem}" for problem in self.problems)
        super().__init__(f"日历覆盖文件 {path} 有 {len(self.problems)} 处错误，未加载：\n{lines}")


def describe_years(years: tuple[int, ...]) -> str:
    """``(2004, 2005, 2006, 2027)`` → ``"2004–2006、2027"``."""
    if not years:
        return "（无）"
    runs: list[tuple[int, int]] = []
    for year in sorted(years):
        if runs and year == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], year)
        else:
            runs.append((year, year))
    return "、".join(f"{low}–{high}" if low != high else str(low) for low, high in runs)
