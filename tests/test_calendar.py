"""The fiscal calendar, periods and Japanese era dates (SPEC §2)."""

from __future__ import annotations

from datetime import date

import pytest

from pilots.calendar import (
    fiscal_year_bounds,
    fiscal_year_of,
    format_as_of,
    format_date,
    format_fiscal_year,
    format_month,
    months_elapsed,
    parse_date,
    period,
)
from pilots.errors import CalendarError


@pytest.mark.parametrize(
    ("day", "fy"),
    [
        (date(2019, 4, 1), 2019),
        (date(2019, 3, 31), 2018),
        (date(2020, 3, 31), 2019),
        (date(2020, 4, 1), 2020),
        (date(2019, 12, 31), 2019),
        (date(2020, 1, 1), 2019),
    ],
)
def test_fiscal_year_of_turns_on_april_first(day: date, fy: int) -> None:
    assert fiscal_year_of(day) == fy


def test_fiscal_year_bounds() -> None:
    assert fiscal_year_bounds(2019) == (date(2019, 4, 1), date(2020, 3, 31))


def test_interim_and_final_periods_and_months() -> None:
    interim = period(2019, "interim")
    final = period(2019, "final")
    assert (interim.start, interim.end, interim.months) == (date(2019, 4, 1), date(2019, 9, 30), 6)
    assert (final.start, final.end, final.months) == (date(2019, 4, 1), date(2020, 3, 31), 12)
    assert final.label == "令和元年度 最終（令和2年3月末時点）"
    assert interim.contains(date(2019, 9, 30)) and not interim.contains(date(2019, 10, 1))


def test_as_of_overrides_end_and_counts_its_month() -> None:
    p = period(2019, "final", as_of=date(2019, 7, 15))
    assert p.end == date(2019, 7, 15)
    assert p.months == 4  # April, May, June, July
    assert period(2019, "interim", as_of=date(2019, 4, 1)).months == 1


@pytest.mark.parametrize("as_of", [date(2019, 3, 31), date(2020, 4, 1)])
def test_as_of_outside_fiscal_year_is_refused(as_of: date) -> None:
    with pytest.raises(CalendarError, match="令和元年度"):
        period(2019, "final", as_of=as_of)


def test_unknown_period_kind_is_refused() -> None:
    with pytest.raises(CalendarError, match="interim"):
        period(2019, "annual")


def test_months_elapsed_across_new_year() -> None:
    assert months_elapsed(date(2019, 4, 1), date(2020, 1, 31)) == 10
    with pytest.raises(CalendarError):
        months_elapsed(date(2019, 4, 1), date(2019, 3, 1))


@pytest.mark.parametrize(
    ("day", "long", "short"),
    [
        (date(2020, 3, 31), "令和2年3月31日", "R2.3.31"),
        (date(2019, 4, 30), "平成31年4月30日", "H31.4.30"),
        (date(2019, 5, 1), "令和元年5月1日", "R1.5.1"),
        (date(1989, 1, 7), "昭和64年1月7日", "S64.1.7"),
        (date(1989, 1, 8), "平成元年1月8日", "H1.1.8"),
    ],
)
def test_era_formatting_at_boundaries(day: date, long: str, short: str) -> None:
    assert format_date(day) == long
    assert format_date(day, "short") == short


def test_fiscal_year_names() -> None:
    assert format_fiscal_year(2019) == "令和元年度"  # began in 平成31年4月, named 令和元年度
    assert format_fiscal_year(2020) == "令和2年度"
    assert format_fiscal_year(2018) == "平成30年度"
    assert format_fiscal_year(1988) == "昭和63年度"
    assert format_fiscal_year(2019, "short") == "R1年度"


def test_month_names_take_the_era_of_their_first_day() -> None:
    assert format_month(2019, 4) == "平成31年4月"
    assert format_month(2019, 5) == "令和元年5月"
    assert format_month(2020, 3) == "令和2年3月"
    assert format_month(2019, 4, "short") == "H31.4"  # the progress sheet's schedule
    assert format_month(2019, 5, "short") == "R1.5"


def test_as_of_formatting() -> None:
    assert format_as_of(date(2020, 3, 31)) == "令和2年3月末時点"
    assert format_as_of(date(2020, 3, 31), "short") == "R2年3月末時点"
    assert format_as_of(date(2019, 9, 30)) == "令和元年9月末時点"
    assert format_as_of(date(2020, 2, 29)) == "令和2年2月末時点"  # leap year month end
    assert format_as_of(date(2019, 9, 15)) == "令和元年9月15日時点"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-04-01", date(2019, 4, 1)),
        ("2019/04/01", date(2019, 4, 1)),
        ("2019/4/1", date(2019, 4, 1)),
        ("2019年4月1日", date(2019, 4, 1)),
        ("２０１９／０４／０１", date(2019, 4, 1)),
        ("2019/04/01 09:30:00", date(2019, 4, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("令和2年3月31日", date(2020, 3, 31)),
        ("令和 2 年 3 月 31 日", date(2020, 3, 31)),
        ("令和二年三月三十一日", date(2020, 3, 31)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("R1.5.1", date(2019, 5, 1)),
        ("R2.3.31", date(2020, 3, 31)),
        ("r02/03/31", date(2020, 3, 31)),
        ("H31.4.30", date(2019, 4, 30)),
    ],
)
def test_parse_date_forms(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("令和元年4月30日", "令和の範囲外"),
        ("平成31年5月1日", "平成の範囲外"),
        ("R1.4.30", "令和の範囲外"),
        ("2019/02/30", "正しくありません"),
        ("来週", "読めません"),
        ("", "読めません"),
    ],
)
def test_parse_date_refuses_impossible_dates(text: str, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        parse_date(text)


def test_round_trip_over_the_era_change() -> None:
    for day in (date(2019, 4, 30), date(2019, 5, 1), date(2020, 3, 31)):
        assert parse_date(format_date(day)) == day
        assert parse_date(format_date(day, "short")) == day


def test_months_of_a_period_cross_the_year_end() -> None:
    from pilots.calendar import months

    final = period(2019, "final")
    firsts = months(final.start, final.end)
    assert len(firsts) == final.months == 12
    assert (firsts[0], firsts[8], firsts[-1]) == (
        date(2019, 4, 1),
        date(2019, 12, 1),
        date(2020, 3, 1),
    )
    assert months(date(2019, 4, 15), date(2019, 4, 30)) == [date(2019, 4, 1)]
