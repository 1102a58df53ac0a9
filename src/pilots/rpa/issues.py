"""Operational issues in the run logs (課題の抽出, SPEC §4): failures grouped, terminals checked.

The rule, as SPEC §4 gives it, for the failed runs (WinActor ERROR and HALT,
UiPath Faulted, Power Automate Failed …) of the period whose scenario matches
a catalog task::

    group       = task × scenario × error (code and message as exported) × terminal
    cases       = the run's item count if the log has one, else cases_per_run
    hours_lost  = Σ (exception_minutes_per_failure + cases × manual_minutes_per_case) / 60
                  (the failure terms of the §4 rule: investigation, and the work redone by hand)
    retries     = Σ WinActor リトライカウント of the group's runs (None: the export has none)

Groups are ranked by hours lost. For each, when its failures happened: the
count by hour of day and by weekday, and the first and last one.

**端末管理** — a terminal's failure rate is its failures ÷ its runs (successes
and failures of matched scenarios in the period). A terminal with at least
``min_runs`` runs is tested against the pooled rate of all the other
terminals, p₀ = their failures ÷ their runs, by a one-sided exact binomial
test: p = P(X ≥ its failures) for X ~ Binomial(its runs, p₀). It is flagged
when p < α ÷ m, m the number of terminals tested (Bonferroni: with 12
terminals and α = 0.01 a clean office sees a false flag about once in a
hundred). α and ``min_runs`` are the settings ``rpa.terminal_alpha`` and
``rpa.terminal_min_runs``.

The runs are aggregated in SQL (GROUP BY terminal; the failures by scenario,
terminal, error, hour and weekday); the arithmetic above is applied to those
groups.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from math import exp, lgamma, log, log1p
from typing import Any

from sqlalchemy import String, case, func, select, type_coerce
from sqlalchemy.orm import Session, selectinload

from pilots.calendar import Period
from pilots.figures import Exclusion, PeriodFigures
from pilots.rpa.formats import FAILURE, SUCCESS
from pilots.tables import RpaRun, RpaTask, RpaTaskScenario

WEEKDAYS = ("月", "火", "水", "木", "金", "土", "日")
"""Weekday names, Monday first (:attr:`IssueGroup.weekdays` is in this order)."""

RULE = (
    "失敗した実行（WinActor の ERROR・HALT、UiPath の Faulted、Power Automate の Failed など）を、"
    "業務・シナリオ・エラー（コードとメッセージ）・端末の組ごとに数えます。失った時間 = Σ"
    "（例外対応時間(分/回) ＋ 件数 × 手作業時間(分/件)）÷ 60（SPEC §4 の失敗時の項: 調査と"
    "手作業でのやり直し）。件数はログの処理件数、なければ業務台帳の件数(件/回)。失った時間の多い順。"
)


def terminal_rule(alpha: float, min_runs: int) -> str:
    """The terminal check in words, with its significance level and minimum of runs."""
    return (
        "端末ごとの失敗率 = 失敗 ÷（成功＋失敗）。実行が"
        f"{min_runs}回以上の端末について、ほかの端末をまとめた失敗率 p₀ のもとで、その端末の失敗が"
        f"これだけ多くなる確率（片側の二項検定の p 値）を求め、p < {alpha:g} ÷ 検定した端末数"
        "（ボンフェローニ補正）なら要点検とします。"
    )


@dataclass(slots=True)  # not frozen: a million runs can make tens of thousands of groups
class IssueGroup:
    """Failed runs of one task, scenario, error and terminal.

    ``scenario`` is the name as written (``scenario_key``: its NFKC form);
    ``error_code``, ``error`` and ``terminal`` are as the export gives them
    (None where it has no such column). ``runs`` counts the failed runs,
    ``statuses`` them by their raw status (ERROR, HALT …). ``hours`` and
    ``weekdays`` count them by hour of day (0–23) and weekday (Monday first);
    ``cluster`` says where they concentrate, in words.
    """

    task_id: str
    task_name: str
    department: str
    scenario: str
    scenario_key: str
    error_code: str | None
    error: str | None
    terminal: str | None
    runs: int
    statuses: dict[str, int]
    cases: float
    hours_lost: float
    retries: int | None
    first_seen: datetime | None
    last_seen: datetime | None
    hours: list[int]
    weekdays: list[int]
    cluster: str


@dataclass(frozen=True)
class TerminalFigures:
    """One terminal's runs and failures, and the 端末管理 check.

    ``others_rate`` is the pooled failure rate of every other terminal;
    ``p_value`` the one-sided binomial test's (None: not tested — fewer than
    the minimum of runs, or no other terminal to compare with).
    """

    terminal: str
    runs: int
    failures: int
    failure_rate: float | None
    others_rate: float | None
    p_value: float | None
    flagged: bool


@dataclass(frozen=True)
class IssueSummary(PeriodFigures):
    """``pilots rpa issues``: the failures of the period by group, and the terminals.

    ``groups`` are ranked by ``hours_lost``; ``terminals`` put the flagged
    first, then by failure rate. ``excluded`` lists the failures left out.
    """

    rule: str
    terminal_rule: str
    alpha: float
    min_runs: int
    failures: int
    hours_lost: float
    groups: list[IssueGroup] = field(default_factory=list)
    terminals: list[TerminalFigures] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)


def day_number(day: date) -> int:
    """A day as runs store it (``run_day``: YYYYMMDD)."""
    return day.year * 10000 + day.month * 100 + day.day


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p), exactly (summed from the nearer end)."""
    if k <= 0 or p >= 1:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    odds = p / (1 - p)

    def pmf(i: int) -> float:
        return exp(
            lgamma(n + 1) - lgamma(i + 1) - lgamma(n - i + 1) + i * log(p) + (n - i) * log1p(-p)
        )

    total = 0.0
    if k > n * p:  # the upper tail itself: terms fall from k on
        term, i = pmf(k), k
        while i <= n and (term > total * 1e-17 or total == 0.0) and term > 0.0:
            total += term
            term *= (n - i) / (i + 1) * odds
            i += 1
        return min(total, 1.0)
    term, i = pmf(k - 1), k - 1  # 1 − P(X ≤ k − 1): terms fall from k − 1 down
    while i >= 0 and (term > total * 1e-17 or total == 0.0) and term > 0.0:
        total += term
        term *= i / (n - i + 1) / odds
        i -= 1
    return max(1.0 - total, 0.0)


def task_owners(session: Session) -> tuple[dict[int, RpaTask], dict[str, int]]:
    """The catalog's tasks by key, and the task of each scenario key."""
    tasks = {
        t.id: t for t in session.scalars(select(RpaTask).options(selectinload(RpaTask.department)))
    }
    owner = {
        key: task_pk
        for key, task_pk in session.execute(
            select(RpaTaskScenario.scenario_key, RpaTaskScenario.task_pk)
        )
    }
    return tasks, owner


class _Clock:
    """The hour and weekday of a run's time, as a datetime or as SQLite's ISO text.

    The failed runs' times are read unconverted (SQLite's text, PostgreSQL's
    datetime); the weekday of each day's text is worked out once.
    """

    def __init__(self) -> None:
        self._weekday: dict[str, int] = {}

    def __call__(self, moment: Any) -> tuple[int, int]:
        if isinstance(moment, datetime):
            return moment.hour, moment.weekday()
        day = moment[:10]
        weekday = self._weekday.get(day)
        if weekday is None:
            weekday = self._weekday[day] = date.fromisoformat(day).weekday()
        return int(moment[11:13]), weekday


def _as_datetime(value: Any) -> datetime | None:
    # SQLite's text of a DATETIME column, as the failed runs are read.
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class FailureGroups:
    """The failure groups of a period, ranked by hours lost, and each terminal's counts.

    ``terminal_runs`` maps a terminal to its [runs, failures] (matched
    scenarios); ``unmatched_failures`` counts the failures of scenarios no
    catalog task claims (no hours lost can be computed for them).
    """

    groups: list[IssueGroup]
    terminal_runs: dict[str, list[int]]
    unmatched_failures: int


def failure_groups(session: Session, period: Period) -> FailureGroups:
    """Group the failed runs of a period and rank them by hours lost (SPEC §4, see above)."""
    tasks, owner = task_owners(session)
    in_period = RpaRun.run_day.between(day_number(period.start), day_number(period.end))
    failed = RpaRun.status == FAILURE
    # Two passes: every run of the period counted per terminal in SQL (the
    # terminal check; runs of scenarios no task claims apart), then the failed
    # runs themselves, grouped here. One pass folding the successes' columns
    # away with CASE sorted a million long keys: twice the time; grouping the
    # failures in SQL by error, hour and weekday sorted them and cost more than
    # grouping the rows here (both measured on a million runs).
    per_terminal: dict[str, list[int]] = {}
    unmatched = 0
    matched = RpaRun.scenario_key.in_(select(RpaTaskScenario.scenario_key)).label("matched")
    for robot, is_matched, runs, failures in session.execute(
        select(RpaRun.robot, matched, func.count(), func.sum(case((failed, 1), else_=0)))
        .where(in_period, RpaRun.status.in_((SUCCESS, FAILURE)))
        .group_by(RpaRun.robot, matched)
    ):
        if not is_matched:
            unmatched += int(failures)
        elif robot:
            per_terminal[robot] = [int(runs), int(failures)]
    rows = session.execute(
        select(
            RpaRun.scenario_key,
            RpaRun.robot,
            RpaRun.error_code,
            RpaRun.message,
            RpaRun.status_raw,
            # The run's time (its start, else its end), not converted per run:
            # SQLite gives its text, PostgreSQL a datetime.
            type_coerce(func.coalesce(RpaRun.started_at, RpaRun.ended_at), String),
            RpaRun.cases,
            RpaRun.retries,
            RpaRun.scenario,
        ).where(in_period, failed, matched)
    )
    # Tens of thousands of groups, each with its lists, and no reference cycle
    # among them: the cyclic collector would only rescan them as they grow
    # (a quarter of the command's time on a million runs, measured).
    collecting = gc.isenabled()
    gc.disable()
    try:
        ranked = _ranked(rows, tasks, owner)
    finally:
        if collecting:
            gc.enable()
    return FailureGroups(ranked, dict(per_terminal), unmatched)


def _ranked(
    rows: Iterable[Sequence[Any]], tasks: dict[int, RpaTask], owner: dict[str, int]
) -> list[IssueGroup]:
    """Sum the failed runs up by group (the rule above) and rank the groups by hours lost.

    Each group is summed up in its :class:`IssueGroup` itself: ``cases`` and
    ``hours_lost`` (in minutes until the end), ``first_seen`` and
    ``last_seen`` as the rows give them (a datetime, or SQLite's text).
    """
    figures = {
        pk: (
            (t.task_id, t.task_name, t.department.name),
            (t.cases_per_run, t.exception_minutes_per_failure, t.manual_minutes_per_case),
        )
        for pk, t in tasks.items()
    }
    clock = _Clock()
    groups: dict[tuple[int, str, str | None, str | None, str | None], IssueGroup] = {}
    for scenario_key, robot, code, message, raw, when, cases, retries, scenario in rows:
        task_pk = owner[scenario_key]
        (task_id, task_name, department), (cases_per_run, exception, manual) = figures[task_pk]
        key = (task_pk, scenario_key, code, message, robot)
        g = groups.get(key)
        shown = scenario_key if scenario is None else scenario
        if g is None:
            g = groups[key] = IssueGroup(
                task_id=task_id,
                task_name=task_name,
                department=department,
                scenario=shown,
                scenario_key=scenario_key,
                error_code=code,
                error=message,
                terminal=robot,
                runs=0,
                statuses={},
                cases=0.0,
                hours_lost=0.0,
                retries=None,
                first_seen=None,
                last_seen=None,
                hours=[0] * 24,
                weekdays=[0] * 7,
                cluster="",
            )
        elif shown < g.scenario:
            g.scenario = shown  # one name however its runs wrote it: the first in order
        n_cases = cases_per_run if cases is None else cases
        g.runs += 1
        g.cases += n_cases
        g.hours_lost += exception + n_cases * manual
        if retries is not None:
            g.retries = (g.retries or 0) + int(retries)
        g.statuses[raw] = g.statuses.get(raw, 0) + 1
        if when is not None:
            if g.first_seen is None or when < g.first_seen:
                g.first_seen = when
            if g.last_seen is None or when > g.last_seen:
                g.last_seen = when
            hour, weekday = clock(when)
            g.hours[hour] += 1
            g.weekdays[weekday] += 1
    for g in groups.values():
        g.cases = round(g.cases, 6)
        g.hours_lost = round(g.hours_lost / 60, 6)
        g.first_seen = _as_datetime(g.first_seen)
        g.last_seen = _as_datetime(g.last_seen)
        g.cluster = cluster_text(g.hours, g.weekdays)
        if len(g.statuses) > 1:
            g.statuses = dict(sorted(g.statuses.items(), key=lambda kv: (-kv[1], kv[0])))
    return sorted(
        groups.values(),
        key=lambda x: (
            *(-x.hours_lost, -x.runs, x.task_id, x.scenario, x.scenario_key),
            *(x.error_code or "", x.error or "", x.terminal or ""),
        ),  # equal hours and runs: a fixed order, whatever order the rows came in
    )


def summarize_issues(
    session: Session, period: Period, *, alpha: float, min_runs: int
) -> IssueSummary:
    """The failures of a period grouped and ranked, and the terminals checked (SPEC §4).

    Args:
        session: the database.
        period: the fiscal period (its end the as-of date).
        alpha: the significance level of the terminal check (setting ``rpa.terminal_alpha``).
        min_runs: the fewest runs a terminal needs to be tested (``rpa.terminal_min_runs``).
    """
    found = failure_groups(session, period)
    return IssueSummary(
        **PeriodFigures.fields_of(period),
        rule=RULE,
        terminal_rule=terminal_rule(alpha, min_runs),
        alpha=alpha,
        min_runs=min_runs,
        failures=sum(g.runs for g in found.groups),
        hours_lost=round(sum(g.hours_lost for g in found.groups), 6),
        groups=found.groups,
        terminals=check_terminals(found.terminal_runs, alpha=alpha, min_runs=min_runs),
        excluded=[
            Exclusion(
                "unmatched_runs",
                "業務台帳にないシナリオの失敗",
                found.unmatched_failures,
                "業務台帳のどのシナリオ名にも当たらない失敗は、失った時間を計算できないため数えません",
            )
        ],
    )


def cluster_text(hours: list[int], weekdays: list[int]) -> str:
    """Where failures concentrate: the busiest hour and weekday with their share (9時台 6/8回 …)."""
    dated = sum(hours)
    if not dated:
        return ""
    peak_hour = hours.index(max(hours))  # the earliest of equally busy hours
    peak_day = weekdays.index(max(weekdays))
    return (
        f"{peak_hour}時台 {hours[peak_hour]}/{dated}回、"
        f"{WEEKDAYS[peak_day]}曜 {weekdays[peak_day]}/{dated}回"
    )


def check_terminals(
    counts: dict[str, list[int]], *, alpha: float, min_runs: int
) -> list[TerminalFigures]:
    """Each terminal's failure rate, tested against the other terminals' pooled rate.

    ``counts`` maps a terminal to [runs, failures]. See the module docstring
    for the test; the flagged terminals come first, then by failure rate.
    """
    total_runs = sum(c[0] for c in counts.values())
    total_failures = sum(c[1] for c in counts.values())
    tested = [t for t, (n, _f) in counts.items() if n >= min_runs and total_runs - n > 0]
    level = alpha / len(tested) if tested else alpha
    out = []
    for terminal, (n, failures) in counts.items():
        other_runs = total_runs - n
        others = (total_failures - failures) / other_runs if other_runs else None
        p_value = None
        if terminal in tested and others is not None:
            p_value = binomial_tail(failures, n, others)
        out.append(
            TerminalFigures(
                terminal=terminal,
                runs=n,
                failures=failures,
                failure_rate=round(failures / n, 6) if n else None,
                others_rate=None if others is None else round(others, 6),
                p_value=p_value,
                flagged=p_value is not None and p_value < level,
            )
        )
    return sorted(out, key=lambda t: (not t.flagged, -(t.failure_rate or 0), t.terminal))
