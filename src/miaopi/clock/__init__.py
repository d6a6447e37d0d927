"""Legal time limits counted in Chinese working days (工作日 / 法定时限 / 承诺时限).

- :class:`WorkingCalendar` — chinesecalendar plus the operator's override file; fails loudly
  (:class:`CalendarUnknownYear`) for a year it does not know.
- :func:`deadline` — the last day of a limit in 工作日, 自然日 or 即办.
- :class:`CaseClock` — a case's statutory and promised deadlines with suspensions and extension.
- :class:`UnknownYears` — deadlines left open for a missing year, logged once an hour, not each.
"""

from miaopi.clock.calendar import UNITS, Unit, WorkingCalendar, YearCalendar, deadline
from miaopi.clock.case import CaseClock, Limit, LimitLike, Suspension
from miaopi.clock.errors import CalendarFileError, CalendarProblem, CalendarUnknownYear
from miaopi.clock.unknown_years import UnknownYears

__all__ = [
    "UNITS",
    "CalendarFileError",
    "CalendarProblem",
    "CalendarUnknownYear",
    "CaseClock",
    "Limit",
    "LimitLike",
    "Suspension",
    "Unit",
    "UnknownYears",
    "WorkingCalendar",
    "YearCalendar",
    "deadline",
]
