"""The fiscal calendar (April–March), report periods, and Japanese era dates.

Rules (SPEC §2):

* Fiscal year N runs from N-04-01 to (N+1)-03-31.
* The interim period runs April 1 – September 30, the final one April 1 –
  March 31; an as-of date replaces the end date.
* Months elapsed = calendar months from the period start up to and including
  the month of the as-of date (interim: 6, final: 12).
* Dates shown to people use the Japanese era (令和2年3月31日, R2.3.31); year 1
  is written 元年.
* Times of day are Japan time (JST, UTC+09:00 all year: Japan has no daylight
  saving time, so a fixed offset is exact and needs no time-zone database).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Literal

from pilots.errors import CalendarError
from pilots.text import normalize_name

PeriodKind = Literal["interim", "final"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("interim", "final")
PERIOD_LABELS: dict[str, str] = {"interim": "中間", "final": "最終"}
FISCAL_YEARS = range(1989, 2101)
"""The fiscal years a person may type (平成元年度 to 2100): any other number is a typo."""


@dataclass(frozen=True)
class Era:
    """A Japanese era: its name, its one-letter abbreviation and first day."""

    name: str
    letter: str
    start: date


# Newest first. Meiji is counted from 1873, when Japan adopted the Gregorian calendar.
ERAS: tuple[Era, ...] = (
    Era("令和", "R", date(2019, 5, 1)),
    Era("平成", "H", date(1989, 1, 8)),
    Era("昭和", "S", date(1926, 12, 25)),
    Era("大正", "T", date(1912, 7, 30)),
    Era("明治", "M", date(1873, 1, 1)),
)
_ERA_BY_KEY = {e.name: e for e in ERAS} | {e.letter: e for e in ERAS}


def era_end(era: Era) -> date | None:
    """Return the last day of ``era``, or None for the current one."""
    index = ERAS.index(era)
    return None if index == 0 else ERAS[index - 1].start - timedelta(days=1)


def era_of(day: date) -> tuple[Era, int]:
    """Return the era in force on ``day`` and the year within it (1 = 元年)."""
    for era in ERAS:
        if day >= era.start:
            return era, day.year - era.start.year + 1
    raise CalendarError(f"{day.isoformat()} は和暦で表せません（明治6年より前）")


def _era_year_text(year: int) -> str:
    return "元" if year == 1 else str(year)


def format_date(day: date, style: Literal["long", "short"] = "long") -> str:
    """Format ``day`` in the Japanese era.

    Args:
        day: the date.
        style: ``"long"`` gives 令和2年3月31日 (令和元年5月1日 for year 1),
            ``"short"`` gives R2.3.31.
    """
    era, year = era_of(day)
    if style == "short":
        return f"{era.letter}{year}.{day.month}.{day.day}"
    return f"{era.name}{_era_year_text(year)}年{day.month}月{day.day}日"


def format_month(year: int, month: int, style: Literal["long", "short"] = "long") -> str:
    """Format a calendar month in the Japanese era: 令和元年5月 (平成31年4月 before 5/1),
    or R1.5 (H31.4) in the short style."""
    era, era_year = era_of(date(year, month, 1))
    if style == "short":
        return f"{era.letter}{era_year}.{month}"
    return f"{era.name}{_era_year_text(era_year)}年{month}月"


def fiscal_year_era(fiscal_year: int) -> tuple[Era, int]:
    """Return the era name and year a fiscal year is known by.

    A fiscal year takes the era in force at the end of the calendar year it
    starts in: FY2019 (which began on 平成31年4月1日) is 令和元年度, and
    FY1988 (which ended in 平成元年) is 昭和63年度.
    """
    return era_of(date(fiscal_year, 12, 31))


def format_fiscal_year(fiscal_year: int, style: Literal["long", "short"] = "long") -> str:
    """Format a fiscal year: 令和元年度 (long) or R1年度 (short)."""
    era, year = fiscal_year_era(fiscal_year)
    if style == "short":
        return f"{era.letter}{year}年度"
    return f"{era.name}{_era_year_text(year)}年度"


def is_month_end(day: date) -> bool:
    """True when ``day`` is the last day of its month."""
    return (day + timedelta(days=1)).month != day.month


def format_as_of(day: date, style: Literal["long", "short"] = "long") -> str:
    """Format an as-of date: 令和2年3月末時点 / R2年3月末時点, or the exact day if mid-month."""
    era, year = era_of(day)
    prefix = f"{era.letter}{year}" if style == "short" else f"{era.name}{_era_year_text(year)}"
    if is_month_end(day):
        return f"{prefix}年{day.month}月末時点"
    return f"{prefix}年{day.month}月{day.day}日時点"


def fiscal_year_of(day: date) -> int:
    """Return the fiscal year a date belongs to (2020-03-31 → 2019, 2020-04-01 → 2020)."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_bounds(fiscal_year: int) -> tuple[date, date]:
    """Return the first and last day of a fiscal year."""
    return date(fiscal_year, 4, 1), date(fiscal_year + 1, 3, 31)


def months_elapsed(start: date, as_of: date) -> int:
    """Calendar months from ``start`` up to and including the month of ``as_of``.

    SPEC §2: interim (April–September) gives 6, final (April–March) gives 12,
    an as-of date of 2019-07-15 gives 4.
    """
    if as_of < start:
        raise CalendarError(
            f"基準日 {as_of.isoformat()} が期間の開始日 {start.isoformat()} より前です"
        )
    return (as_of.year - start.year) * 12 + as_of.month - start.month + 1


def months(start: date, end: date) -> list[date]:
    """The first day of each calendar month from ``start``'s month to ``end``'s, in order.

    The months a period's figures are shown by (SPEC §2: a period runs from
    its start to the month of its as-of date, both included).
    """
    firsts = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        firsts.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return firsts


@dataclass(frozen=True)
class Period:
    """A report period of one fiscal year.

    Attributes:
        fiscal_year: e.g. 2019 for 令和元年度.
        kind: ``interim`` (中間, to September) or ``final`` (最終, to March).
        start: April 1 of the fiscal year.
        end: the as-of date: the period's nominal end unless overridden.
    """

    fiscal_year: int
    kind: PeriodKind
    start: date
    end: date

    @property
    def months(self) -> int:
        """Months elapsed in the period (SPEC §2)."""
        return months_elapsed(self.start, self.end)

    @property
    def label(self) -> str:
        """Japanese label, e.g. 令和元年度 最終（令和2年3月末時点）."""
        return (
            f"{format_fiscal_year(self.fiscal_year)} {PERIOD_LABELS[self.kind]}"
            f"（{format_as_of(self.end)}）"
        )

    def contains(self, day: date) -> bool:
        """True when ``day`` lies within the period, both ends included."""
        return self.start <= day <= self.end


def period(fiscal_year: int, kind: str, as_of: date | None = None) -> Period:
    """Return the interim or final period of a fiscal year.

    Args:
        fiscal_year: the fiscal year (2019 = 令和元年度).
        kind: ``"interim"`` (April 1 – September 30) or ``"final"`` (April 1 – March 31).
        as_of: replaces the end date; must lie within the fiscal year.

    Raises:
        CalendarError: unknown kind, or an as-of date outside the fiscal year.
    """
    if kind not in PERIOD_KINDS:
        raise CalendarError(f"期間は interim（中間）か final（最終）で指定してください: {kind}")
    start, fy_end = fiscal_year_bounds(fiscal_year)
    nominal_end = date(fiscal_year, 9, 30) if kind == "interim" else fy_end
    end = nominal_end if as_of is None else as_of
    if not start <= end <= fy_end:
        raise CalendarError(
            f"基準日 {end.isoformat()}（{format_date(end)}）は{format_fiscal_year(fiscal_year)}"
            f"（{start.isoformat()}〜{fy_end.isoformat()}）の外です"
        )
    return Period(fiscal_year, kind, start, end)


_KANJI_DIGITS = {
    "〇": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def _number(text: str) -> int:
    """Read 12, 元, or a kanji numeral up to 99 (三十一)."""
    if text.isdigit():
        return int(text)
    if text == "元":
        return 1
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)
    value = 0
    for ch in text:
        value = value * 10 + _KANJI_DIGITS[ch]
    return value


_NUM = r"(\d{1,4}|元|[〇一二三四五六七八九十]{1,3})"
_TIME_OF_DAY = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
_ERA_NAMES = "|".join(e.name for e in ERAS)
_ERA_LETTERS = "".join(e.letter for e in ERAS)
_PATTERNS: tuple[tuple[re.Pattern[str], bool], ...] = (
    # (pattern, has_era)
    (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"), False),
    (re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"), False),
    (re.compile(rf"^({_ERA_NAMES}){_NUM}年{_NUM}月{_NUM}日$"), True),
    (re.compile(rf"^([{_ERA_LETTERS}]){_NUM}[./-]{_NUM}[./-]{_NUM}$", re.IGNORECASE), True),
)


def parse_date(text: str) -> date:
    """Read a date as Japanese offices write it.

    Accepted: 2019-04-01, 2019/4/1, 2019.4.1, 2019年4月1日 (a trailing time of
    day is ignored), 令和元年5月1日, 令和2年3月31日, 平成31年4月30日, 令和二年三月三十一日,
    R2.3.31, R02/03/31, H31.4.30. Full-width digits and spaces are allowed.

    Raises:
        CalendarError: the text is no date, or an era date outside its era
            (令和元年4月30日, 平成31年5月1日).
    """
    cleaned = re.sub(r"\s+", "", _TIME_OF_DAY.sub("", normalize_name(text)))
    for pattern, has_era in _PATTERNS:
        match = pattern.match(cleaned)
        if not match:
            continue
        try:
            if not has_era:
                y, m, d = (int(g) for g in match.groups()[:3])
                return date(y, m, d)
            key = match.group(1)
            era = _ERA_BY_KEY[key.upper() if len(key) == 1 else key]
            era_year, m, d = (_number(g) for g in match.groups()[1:4])
            day = date(era.start.year + era_year - 1, m, d)
        except (ValueError, KeyError):
            raise CalendarError(f"日付として正しくありません: {text}") from None
        end = era_end(era)
        if day < era.start or (end is not None and day > end):
            last = f"{format_date(end)}" if end else ""
            raise CalendarError(
                f"{text} は{era.name}の範囲外です（{era.name}は{format_date(era.start)}から"
                f"{last + 'まで' if last else ''}）"
            )
        return day
    raise CalendarError(
        f"日付として読めません: {text}（例: 2019-04-01, 2019/04/01, R1.5.1, 令和元年5月1日）"
    )


def parse_iso_or_japanese(value: object) -> date:
    """Read a date from a spreadsheet cell: a date, a datetime, or text for :func:`parse_date`."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date(str(value))


JST = timezone(timedelta(hours=9), "JST")
"""Japan Standard Time: UTC+09:00 all year round (no daylight saving time)."""


def today() -> date:
    """Today's date in Japan, whatever the computer's own time zone (a server may run on UTC).

    The one place pilots asks for the current date where a rule depends on it
    (a report's default as-of date), so that tests can fix it.
    """
    return datetime.now(JST).date()


_DATETIME = re.compile(
    r"^(?P<date>.+?)"
    r"(?:(?:[ T]+|(?<=日))"
    r"(?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?|\d{1,2}時\d{1,2}分(?:\d{1,2}秒)?))?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"(\d+)[:時](\d+)(?:[:分](\d+)(?:\.(\d+))?)?")


def to_japan_time(value: datetime) -> datetime:
    """Return ``value`` as naive Japan time; a naive value is taken to be Japan time already."""
    if value.tzinfo is None:
        return value
    return value.astimezone(JST).replace(tzinfo=None)


def parse_datetime(text: str) -> datetime:
    """Read a date and time of day as exports and offices write them, as naive Japan time.

    Accepted: ISO 8601 (``2024-05-13T00:00:05.79Z``, any number of fraction
    digits, ``Z`` or ``+09:00``), ``2024/05/13 09:00:05``, ``2024/5/13 9:00``,
    ``2024年5月13日 9時00分``, and any date :func:`parse_date` reads, with or without
    a time of day (no time means midnight). A value with ``Z`` or an offset is
    converted to Japan time; a value without one is taken to be Japan time
    (exports shown in local time, like WinActor Manager's, are).

    Raises:
        CalendarError: the text is no date and time, or an impossible one (2019/02/30).
    """
    cleaned = normalize_name(text)
    try:
        # The C parser handles the common export forms at about a microsecond each.
        return to_japan_time(datetime.fromisoformat(cleaned.replace("/", "-")))
    except ValueError:
        pass
    match = _DATETIME.match(cleaned)
    if not match:
        raise CalendarError(f"日時として読めません: {text}（例: 2019/04/01 09:00:00）")
    day = parse_date(match.group("date"))
    hour = minute = second = micro = 0
    if match.group("time"):
        clock = _CLOCK.fullmatch(match.group("time").rstrip("秒分"))
        if clock is None:
            raise CalendarError(f"時刻として読めません: {text}")
        hour, minute = int(clock.group(1)), int(clock.group(2))
        second = int(clock.group(3) or 0)
        micro = int((clock.group(4) or "0")[:6].ljust(6, "0"))
    try:
        value = datetime(day.year, day.month, day.day, hour, minute, second, micro)
    except ValueError:
        raise CalendarError(f"時刻として正しくありません: {text}") from None
    zone = match.group("tz")
    if zone:
        if zone.upper() == "Z":
            offset = timedelta(0)
        else:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        value = to_japan_time(value.replace(tzinfo=timezone(offset)))
    return value
