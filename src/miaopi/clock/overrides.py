"""The operator's calendar override file (YAML).

China publishes next year's holiday arrangement each November (国务院办公厅关于某年部分节假日安排的
通知); the ``chinesecalendar`` package follows with a release. Until it does — or to correct it — an
operator writes the arrangement into an override file::

    # calendar.yaml
    2027:
      complete: true                   # the whole year is declared here (required for a year
                                       # chinesecalendar does not know; replaces its data otherwise)
      source: 国务院办公厅关于2027年部分节假日安排的通知
      holidays:                        # days off: one date, or an inclusive range "start..end"
        - 2027-01-01
        - 2027-02-06..2027-02-13
      workdays:                        # 调休: weekend days that are working days
        - 2027-02-20
    2026:                              # without complete: corrections on top of chinesecalendar
      holidays: [2026-12-31]

Dates are read as text (not through YAML's timestamp type) so that a bad date is reported with the
entry as written instead of crashing the parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from miaopi.clock.errors import CalendarProblem

YEAR_KEYS = frozenset({"complete", "source", "holidays", "workdays"})
_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
MIN_YEAR, MAX_YEAR = 1949, 2200


@dataclass(frozen=True)
class YearOverride:
    """One year of the override file, validated on its own (not yet against chinesecalendar)."""

    year: int
    complete: bool
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str | None = None


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as text and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable key: let SafeLoader report it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "解析映射时", node.start_mark, f"键 {key!r} 重复出现", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def read_override_file(path: Path) -> tuple[dict[int, YearOverride], list[CalendarProblem]]:
    """Parse and check ``path``; returns the years it declares and every problem found."""
    problems: list[CalendarProblem] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, [CalendarProblem(None, None, "文件不存在")]
    except (OSError, UnicodeDecodeError) as error:
        return {}, [CalendarProblem(None, None, f"无法读取文件：{error}")]
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f"第 {mark.line + 1} 行 " if mark is not None else ""
        return {}, [CalendarProblem(None, None, f"{line}YAML 语法错误：{error.problem or error.context}")]
    except yaml.YAMLError as error:
        return {}, [CalendarProblem(None, None, f"YAML 语法错误：{error}")]
    if document is None:
        return {}, []
    if not isinstance(document, dict):
        return {}, [CalendarProblem(None, None, "文件顶层应为以年份为键的映射（如 2027: {...}）")]

    years: dict[int, YearOverride] = {}
    for raw_year, body in document.items():
        year = _year_key(raw_year)
        if year is None:
            problems.append(
                CalendarProblem(None, str(raw_year), f"顶层的键应为 {MIN_YEAR}–{MAX_YEAR} 之间的年份")
            )
            continue
        if year in years:
            problems.append(CalendarProblem(year, str(raw_year), "年份重复声明"))
            continue
        parsed = _read_year(year, body, problems)
        if parsed is not None:
            years[year] = parsed
    return years, problems


def _year_key(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        year = raw
    elif isinstance(raw, str) and raw.strip().isdigit():
        year = int(raw.strip())
    else:
        return None
    return year if MIN_YEAR <= year <= MAX_YEAR else None


def _read_year(year: int, body: object, problems: list[CalendarProblem]) -> YearOverride | None:
    if not isinstance(body, dict):
        problems.append(
            CalendarProblem(year, None, "每一年应为映射，键为 complete、source、holidays、workdays")
        )
        return None
    before = len(problems)
    for key in body:
        if key not in YEAR_KEYS:
            problems.append(
                CalendarProblem(year, str(key), f"未知的键；只允许 {'、'.join(sorted(YEAR_KEYS))}")
            )
    complete = body.get("complete", False)
    if not isinstance(complete, bool):
        problems.append(CalendarProblem(year, f"complete: {complete}", "complete 应为 true 或 false"))
        complete = False
    source = body.get("source")
    if source is not None and not isinstance(source, str):
        problems.append(CalendarProblem(year, f"source: {source}", "source 应为文字（通知名称或文号）"))
        source = None
    holidays = _read_dates(year, body, "holidays", allow_ranges=True, problems=problems)
    workdays = _read_dates(year, body, "workdays", allow_ranges=False, problems=problems)
    for day in sorted(holidays.keys() & workdays.keys()):
        problems.append(
            CalendarProblem(
                year,
                f"{holidays[day]} / {workdays[day]}",
                f"{day.isoformat()} 同时列为放假（holidays）和上班（workdays）",
            )
        )
    for day, entry in sorted(workdays.items()):
        if complete and day.weekday() < 5:
            problems.append(
                CalendarProblem(
                    year,
                    entry,
                    f"{day.isoformat()} 是周{'一二三四五'[day.weekday()]}，本就上班；"
                    "workdays 只列调休上班的周六、周日",
                )
            )
    if complete and not holidays:
        problems.append(
            CalendarProblem(year, None, "complete: true 声明了全年安排，却没有列出任何放假日期（holidays）")
        )
    if len(problems) > before:
        return None
    return YearOverride(
        year=year,
        complete=complete,
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        source=source,
    )


def _read_dates(
    year: int, body: dict[Any, Any], key: str, *, allow_ranges: bool, problems: list[CalendarProblem]
) -> dict[date, str]:
    """The dates listed under ``key``, each mapped to the entry (as written) that listed it."""
    raw = body.get(key)
    if raw is None:
        return {}
    if not isinstance(raw, list):
        problems.append(CalendarProblem(year, f"{key}: {raw}", f"{key} 应为列表"))
        return {}
    found: dict[date, str] = {}
    for item in raw:
        entry = str(item)
        days = _parse_entry(item, allow_ranges=allow_ranges)
        if isinstance(days, str):
            problems.append(CalendarProblem(year, entry, f"{key} 中的{days}"))
            continue
        outside = [day for day in days if day.year != year]
        if outside:
            problems.append(CalendarProblem(year, entry, f"{outside[0].isoformat()} 不在 {year} 年内"))
            continue
        for day in days:
            if day in found:
                problems.append(
                    CalendarProblem(year, entry, f"{day.isoformat()} 已由 {found[day]!r} 列出，重复")
                )
                break
            found[day] = entry
    return found


def _parse_entry(item: object, *, allow_ranges: bool) -> list[date] | str:
    """The days of one list entry, or a description of what is wrong with it."""
    if not isinstance(item, str):
        return "条目应为日期 YYYY-MM-DD" + ("或区间 YYYY-MM-DD..YYYY-MM-DD" if allow_ranges else "")
    if ".." in item:
        if not allow_ranges:
            return "条目只能是单个日期，不能是区间"
        first_text, _, last_text = item.partition("..")
        first, last = _parse_date(first_text), _parse_date(last_text)
        if first is None or last is None:
            return "区间应写作 YYYY-MM-DD..YYYY-MM-DD，且两端都是有效日期"
        if last < first:
            return "区间的结束日期早于开始日期"
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    day = _parse_date(item)
    if day is None:
        return "条目不是有效日期（应写作 YYYY-MM-DD）"
    return [day]


def _parse_date(text: str) -> date | None:
    match = _DATE.match(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
