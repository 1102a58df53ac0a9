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

from dataclasses import dataclass, field
from datetime import date, datetime
from math import exp, lgamma, log, log1p
from typing import Any

from sqlalchemy import Integer, String, case, cast, extract, func, select
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


def run_time(dialect: str) -> tuple[Any, Any, Any]:
    """The time of a run (its start, else its end), its hour and its weekday (0 = Monday)."""
    moment = func.coalesce(RpaRun.started_at, RpaRun.ended_at)
    if dialect == "postgresql":
        hour = cast(extract("hour", moment), Integer)
        sunday_first = cast(extract("dow", moment), Integer)
    else:
        hour = cast(func.strftime("%H", moment), Integer)
        sunday_first = cast(func.strftime("%w", moment), Integer)
    return moment, hour, (sunday_first + 6) % 7


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


class _Group:
    """A failure group being summed up (one per group of tens of thousands: kept plain)."""

    __slots__ = (
        "cases",
        "first",
        "hours",
        "last",
        "minutes",
        "retries",
        "runs",
        "scenario",
        "statuses",
        "weekdays",
    )

    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.runs = 0
        self.cases = 0.0
        self.minutes = 0.0
        self.retries: int | None = None
        # A datetime (PostgreSQL) or its text (SQLite): one or the other within a query.
        self.first: Any = None
        self.last: Any = None
        self.statuses: dict[str, int] = {}
        self.hours = [0] * 24
        self.weekdays = [0] * 7


def _as_datetime(value: Any) -> datetime | None:
    # SQLite hands back MIN/MAX of a DATETIME column as its text.
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
    moment, hour, weekday = run_time(session.get_bind().dialect.name)
    in_period = RpaRun.run_day.between(day_number(period.start), day_number(period.end))
    failed = RpaRun.status == FAILURE
    # Two passes: every run of the period counted per terminal (the terminal
    # check; runs of scenarios no task claims apart), then the failures alone
    # grouped by error and time. One pass folding the successes' columns away
    # with CASE sorted a million long keys: twice the time (measured).
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
    keys = [
        RpaRun.scenario_key,
        RpaRun.robot,
        RpaRun.error_code,
        RpaRun.message,
        RpaRun.status_raw,
        hour,
        weekday,
    ]
    rows = session.execute(
        select(
            *keys,
            func.count(),
            func.sum(RpaRun.cases),
            func.count(RpaRun.cases),
            func.sum(RpaRun.retries),
            # As text: SQLite's DATETIME text is read once, below, not per row by the driver.
            func.min(moment, type_=String),
            func.max(moment, type_=String),
            func.min(func.coalesce(RpaRun.scenario, RpaRun.scenario_key)),
        )
        .where(in_period, failed)
        .group_by(*keys)
    ).all()
    minutes = {
        pk: (t.cases_per_run, t.exception_minutes_per_failure, t.manual_minutes_per_case)
        for pk, t in tasks.items()
    }
    groups: dict[tuple[int, str, str | None, str | None, str | None], _Group] = {}
    for scenario_key, robot, code, message, raw, hr, wd, n, *rest in rows:
        task_pk = owner.get(scenario_key)
        if task_pk is None:
            continue
        cases_sum, cases_n, retries, first, last, shown = rest
        cases_per_run, exception, manual = minutes[task_pk]
        g = groups.get((task_pk, scenario_key, code, message, robot))
        if g is None:
            g = groups[task_pk, scenario_key, code, message, robot] = _Group(shown)
        cases = float(cases_sum or 0) + (n - cases_n) * cases_per_run
        g.runs += n
        g.cases += cases
        g.minutes += n * exception + cases * manual
        if retries is not None:
            g.retries = (g.retries or 0) + int(retries)
        g.statuses[raw] = g.statuses.get(raw, 0) + n
        if first is not None and (g.first is None or first < g.first):
            g.first = first
        if last is not None and (g.last is None or last > g.last):
            g.last = last
        if hr is not None and wd is not None:
            g.hours[int(hr)] += n
            g.weekdays[int(wd)] += n

    names = {pk: (t.task_id, t.task_name, t.department.name) for pk, t in tasks.items()}
    ranked = sorted(
        (
            _group(names[pk], key, code, message, robot, g)
            for (pk, key, code, message, robot), g in groups.items()
        ),
        key=lambda x: (-x.hours_lost, -x.runs, x.task_id, x.scenario, x.error_code or ""),
    )
    return FailureGroups(ranked, dict(per_terminal), unmatched)


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


def _group(
    task: tuple[str, str, str],
    scenario_key: str,
    code: str | None,
    message: str | None,
    robot: str | None,
    g: _Group,
) -> IssueGroup:
    statuses = g.statuses
    if len(statuses) > 1:
        statuses = dict(sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0])))
    return IssueGroup(
        task_id=task[0],
        task_name=task[1],
        department=task[2],
        scenario=g.scenario or scenario_key,
        scenario_key=scenario_key,
        error_code=code,
        error=message,
        terminal=robot,
        runs=g.runs,
        statuses=statuses,
        cases=round(g.cases, 6),
        hours_lost=round(g.minutes / 60, 6),
        retries=g.retries,
        first_seen=_as_datetime(g.first),
        last_seen=_as_datetime(g.last),
        hours=g.hours,
        weekdays=g.weekdays,
        cluster=cluster_text(g.hours, g.weekdays),
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
