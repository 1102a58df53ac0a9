"""The RPA team's issue register (課題管理表) and what each entry changed (課題の解決, SPEC §4).

An entry is 課題 (the issue), 原因, 対応策, 担当, 状態 (未対応 / 対応中 / 解決),
the day it was found and, once 解決, the day it was resolved. It is linked to
the failure groups of the run logs it explains (:mod:`pilots.rpa.issues`):
those of a catalog task or of one scenario, with an error (its code, or its
message where the export has no code), on a terminal — each link optional,
together they narrow down. An entry without any link explains no group.

The rules (SPEC §4), over the runs of a period (its end the as-of date):

* **explained failures** — the failed runs of the groups the entry matches,
  and their hours lost (:func:`pilots.rpa.issues.failure_groups`);
* **effect of a resolution** — the failure rate of the entry's groups before
  and after the day it was resolved: the failures that match every link ÷
  the runs (successes and failures) of the groups' scenarios on the groups'
  terminals, counted from the period's start to the day before, and from that
  day to the as-of date; with the counts. 止まった when no failure is left
  after it, 減った when the rate fell, else 減っていない;
* **as of a date** — an entry counts as 抽出 once found by the as-of date and
  as 解決 once resolved by it; one resolved later is shown as 対応中 then.
  ``issues_extracted`` and ``issues_resolved`` are the plan's indicator
  実運用上での課題の抽出と解決 (N件を抽出、M件を解決).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from pilots.calendar import Period, format_date, parse_iso_or_japanese
from pilots.errors import CalendarError, ConfigError, InputFileError, NotFoundError
from pilots.figures import PeriodFigures
from pilots.rpa.formats import FAILURE, SUCCESS
from pilots.rpa.issues import IssueGroup, day_number, failure_groups
from pilots.tables import RpaIssue, RpaRun, RpaTask, RpaTaskScenario
from pilots.tabular import Column, read_table
from pilots.text import normalize_name

OPEN, IN_PROGRESS, RESOLVED = "未対応", "対応中", "解決"
STATES = (OPEN, IN_PROGRESS, RESOLVED)

RULE = (
    "登録簿の課題のうち、基準日までに発見したものを「抽出」、基準日までに解決したものを「解決」と"
    "数えます。課題が説明する失敗 = 課題の業務（またはシナリオ）・エラー・端末に当たる失敗。"
    "解決の効果 = 解決日の前と後の失敗率（課題に当たる失敗 ÷ その失敗が起きたシナリオと端末の"
    "実行）を件数とともに比べます。"
)

# Labels of the fields, as people see them (CLI, page and register file alike).
LABELS = {
    "title": "課題",
    "cause": "原因",
    "action": "対応策",
    "owner": "担当",
    "state": "状態",
    "found_on": "発見日",
    "resolved_on": "解決日",
    "task_id": "業務ID",
    "scenario": "シナリオ名",
    "error": "エラーコード",
    "terminal": "端末",
}
REGISTER_COLUMNS = (
    Column("title", ("課題", "課題名")),
    Column("cause", ("原因",), required=False),
    Column("action", ("対応策", "対応"), required=False),
    Column("owner", ("担当", "担当者"), required=False),
    Column("state", ("状態", "状況")),
    Column("found_on", ("発見日", "発生日")),
    Column("resolved_on", ("解決日",), required=False),
    Column("task_id", ("業務ID",), required=False),
    Column("scenario", ("シナリオ名", "シナリオ"), required=False),
    Column("error", ("エラーコード", "エラー"), required=False),
    Column("terminal", ("端末", "端末名", "ロボット"), required=False),
)


@dataclass(frozen=True)
class IssueFields:
    """An entry as a person writes it; None leaves a field as it is (on update).

    An empty text clears a link (``task_id``, ``scenario``, ``error``,
    ``terminal``). Changing the state away from 解決 clears the resolution date.
    """

    title: str | None = None
    cause: str | None = None
    action: str | None = None
    owner: str | None = None
    state: str | None = None
    found_on: date | None = None
    resolved_on: date | None = None
    task_id: str | None = None
    scenario: str | None = None
    error: str | None = None
    terminal: str | None = None


@dataclass(frozen=True)
class Effect:
    """The failure rate of an entry's runs before and after it was resolved."""

    resolved_on: date
    runs_before: int
    failures_before: int
    rate_before: float | None
    runs_after: int
    failures_after: int
    rate_after: float | None
    verdict: str


@dataclass(frozen=True)
class RegisterEntry:
    """One entry of the register as of a period's end, with the failures it explains.

    ``state`` and ``resolved_on`` are as of the as-of date. ``failures`` and
    ``hours_lost`` are those of the period's failure groups it matches
    (``groups`` of them); ``effect`` is set once it is resolved.
    """

    id: int
    title: str
    cause: str
    action: str
    owner: str
    state: str
    found_on: date
    resolved_on: date | None
    task_id: str | None
    scenario: str | None
    error: str | None
    terminal: str | None
    links: str
    groups: int
    failures: int
    hours_lost: float
    effect: Effect | None


@dataclass(frozen=True)
class RegisterSummary(PeriodFigures):
    """``pilots rpa issue list``: the register as of the period's end (SPEC §4).

    ``issues_extracted`` entries found by the as-of date (N件を抽出), of which
    ``issues_resolved`` resolved by it (M件を解決); ``entries`` are those, by
    number; ``found_later`` entries found after the as-of date are left out.
    """

    rule: str
    issues_extracted: int
    issues_resolved: int
    found_later: int
    entries: list[RegisterEntry] = field(default_factory=list)

    def top(self, count: int) -> list[RegisterEntry]:
        """The entries that explain the most hours lost (then by number), at most ``count``."""
        return sorted(self.entries, key=lambda e: (-e.hours_lost, e.id))[:count]


class _Problem(Exception):
    """A field of an entry that cannot be stored: its name and what is wrong."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _text(value: str | None, limit: int) -> str | None:
    return None if value is None else value.strip()[:limit]


def _link(value: str | None) -> str | None:
    """A link as written: None leaves it, '' clears it."""
    return None if value is None else value.strip()


def _check(session: Session, issue: RpaIssue, given: IssueFields) -> None:
    """Apply ``given`` to ``issue``; a value that cannot be stored raises :class:`_Problem`."""
    for name, limit in (("title", 300), ("cause", 2000), ("action", 2000), ("owner", 200)):
        value = _text(getattr(given, name), limit)
        if value is not None:
            setattr(issue, name, value)
    if not issue.title:
        raise _Problem("title", "空です")
    issue.title_key = normalize_name(issue.title)[:300]
    clash = session.scalar(
        select(RpaIssue.id).where(RpaIssue.title_key == issue.title_key, RpaIssue.id != issue.id)
    )
    if clash is not None:
        raise _Problem("title", f"同じ課題がすでに登録されています（No.{clash}）: {issue.title}")
    if given.found_on is not None:
        issue.found_on = given.found_on
    if issue.found_on is None:
        raise _Problem("found_on", "入れてください")
    state = _text(given.state, 20)
    if state is not None:
        state = normalize_name(state)
        if state not in STATES:
            raise _Problem("state", f"知らない状態です: {state}（{'・'.join(STATES)}のいずれか）")
        issue.state = state
    elif given.resolved_on is not None:
        issue.state = RESOLVED  # a resolution date says it is resolved
    elif issue.state is None:
        issue.state = OPEN
    if given.resolved_on is not None:
        if issue.state != RESOLVED:
            raise _Problem("resolved_on", f"状態が{RESOLVED}のときだけ入れられます")
        issue.resolved_on = given.resolved_on
    elif issue.state != RESOLVED:
        issue.resolved_on = None  # reopened
    if issue.state == RESOLVED and issue.resolved_on is None:
        raise _Problem("resolved_on", f"状態が{RESOLVED}のときは入れてください")
    if issue.resolved_on is not None and issue.resolved_on < issue.found_on:
        raise _Problem(
            "resolved_on",
            f"{format_date(issue.resolved_on)}は発見日（{format_date(issue.found_on)}）より前です",
        )
    _check_links(session, issue, given)


def _check_links(session: Session, issue: RpaIssue, given: IssueFields) -> None:
    task_id = _link(given.task_id)
    if task_id is not None:
        if task_id and session.scalar(select(RpaTask.id).where(RpaTask.task_id == task_id)) is None:
            raise _Problem("task_id", f"「{task_id}」は業務台帳にありません")
        issue.task_id = task_id or None
    scenario = _link(given.scenario)
    if scenario is not None:
        key = normalize_name(scenario)[:300]
        if key and session.scalar(select(RpaTaskScenario.id).where(_scenario_is(key))) is None:
            raise _Problem("scenario", f"「{scenario}」は業務台帳にありません")
        issue.scenario, issue.scenario_key = (scenario[:300], key) if key else (None, None)
    if issue.task_id and issue.scenario_key:
        owner = session.scalar(
            select(RpaTask.task_id).join(RpaTaskScenario).where(_scenario_is(issue.scenario_key))
        )
        if owner != issue.task_id:
            raise _Problem(
                "scenario",
                f"「{issue.scenario}」は業務 {issue.task_id} のシナリオではありません",
            )
    error = _link(given.error)
    if error is not None:
        known = select(RpaRun.id).where(
            RpaRun.status == FAILURE, or_(RpaRun.error_code == error, RpaRun.message == error)
        )
        if error and session.scalar(known.limit(1)) is None:
            raise _Problem(
                "error",
                f"「{error}」は実行ログの失敗にありません（コードのない形式ではメッセージを書きます）",
            )
        issue.error = error or None
    terminal = _link(given.terminal)
    if terminal is not None:
        known = select(RpaRun.id).where(RpaRun.robot == terminal)
        if terminal and session.scalar(known.limit(1)) is None:
            raise _Problem("terminal", f"「{terminal}」は実行ログにありません")
        issue.terminal = terminal[:200] or None


def _scenario_is(key: str) -> Any:
    return RpaTaskScenario.scenario_key == key


def _as_config_error(problem: _Problem) -> ConfigError:
    return ConfigError(LABELS[problem.name], problem.message)


def add_issue(session: Session, given: IssueFields, *, by: str = "") -> int:
    """Add an entry to the register; returns its number.

    Raises:
        ConfigError: a field that cannot be stored (named by its label): an
            empty 課題, the same 課題 twice, an unknown state, a resolution
            before the issue was found, a task, scenario, error or terminal the
            catalog and the logs do not know. Nothing is stored then.
    """
    issue = RpaIssue(cause="", action="", owner="", updated_by=by[:100])
    try:
        _check(session, issue, given)
    except _Problem as problem:
        raise _as_config_error(problem) from None
    session.add(issue)
    session.flush()
    return issue.id


def update_issue(session: Session, number: int, given: IssueFields, *, by: str = "") -> None:
    """Change an entry of the register (the fields given; the others stay).

    Raises:
        NotFoundError: no entry has this number.
        ConfigError: as for :func:`add_issue`; the entry is left as it was.
    """
    issue = session.get(RpaIssue, number)
    if issue is None:
        raise NotFoundError(f"課題 No.{number} は登録されていません")
    try:
        with session.no_autoflush:
            _check(session, issue, given)
    except _Problem as problem:
        # The caller's transaction ends with the error: the entry stays as stored.
        raise _as_config_error(problem) from None
    issue.updated_by = by[:100]
    session.flush()


def stored_issue(session: Session, number: int) -> IssueFields:
    """An entry's fields as stored (not as of a date), to edit them.

    Raises:
        NotFoundError: no entry has this number.
    """
    issue = session.get(RpaIssue, number)
    if issue is None:
        raise NotFoundError(f"課題 No.{number} は登録されていません")
    return IssueFields(**{f.name: getattr(issue, f.name) for f in fields(IssueFields)})


@dataclass
class RegisterImport:
    """What ``pilots rpa issue import`` did."""

    file: str
    rows: int = 0
    added: int = 0
    updated: int = 0


def import_register(session: Session, path: str | Path, *, by: str = "") -> RegisterImport:
    """Load a register kept as a file (CSV or xlsx, Japanese headers) in one transaction.

    Columns: 課題, 状態, 発見日 (required), 原因, 対応策, 担当, 解決日, 業務ID,
    シナリオ名, エラー, 端末. An entry whose 課題 is already registered is
    updated, the others are added.

    Raises:
        InputFileError: a row that cannot be stored, named with its line and
            column; nothing of the file is stored then.
    """
    table = read_table(path, header_hint=REGISTER_COLUMNS)
    result = RegisterImport(file=str(path))
    for row in table.mapped(REGISTER_COLUMNS):
        values: dict[str, Any] = {}
        for f in fields(IssueFields):
            if f.name not in row.values:
                continue
            if f.name in ("found_on", "resolved_on"):
                values[f.name] = _cell_date(path, row.values[f.name], row.line, f.name)
            else:
                values[f.name] = row.text(f.name)
        given = IssueFields(**values)
        key = normalize_name(given.title or "")[:300]
        existing = session.scalar(select(RpaIssue).where(RpaIssue.title_key == key))
        issue = existing or RpaIssue(cause="", action="", owner="")
        try:
            with session.no_autoflush:
                _check(session, issue, replace(given, state=given.state or None))
        except _Problem as problem:
            label = LABELS[problem.name]
            raise InputFileError(path, problem.message, line=row.line, column=label) from None
        issue.updated_by = by[:100]
        if existing is None:
            session.add(issue)
            result.added += 1
        else:
            result.updated += 1
        session.flush()
        result.rows += 1
    if not result.rows:
        raise InputFileError(path, "課題が1件もありません")
    return result


def _cell_date(path: str | Path, value: Any, line: int, name: str) -> date | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return parse_iso_or_japanese(value)
    except CalendarError as exc:
        raise InputFileError(path, str(exc), line=line, column=LABELS[name]) from None


def links_text(issue: RpaIssue | RegisterEntry) -> str:
    """The groups an entry explains, in words (業務 R03・エラー E1001・端末 WA-PC03)."""
    parts = []
    if issue.task_id:
        parts.append(f"業務 {issue.task_id}")
    if issue.scenario:
        parts.append(f"シナリオ {issue.scenario}")
    if issue.error:
        parts.append(f"エラー {issue.error[:60]}")
    if issue.terminal:
        parts.append(f"端末 {issue.terminal}")
    return "・".join(parts) or "実行ログとの対応なし"


def explains(issue: RpaIssue, group: IssueGroup) -> bool:
    """True when the entry's links (each one given) all match the failure group."""
    if not (issue.task_id or issue.scenario_key or issue.error or issue.terminal):
        return False
    return (
        (not issue.task_id or group.task_id == issue.task_id)
        and (not issue.scenario_key or group.scenario_key == issue.scenario_key)
        and (not issue.error or issue.error in (group.error_code, group.error))
        and (not issue.terminal or group.terminal == issue.terminal)
    )


def entries_explaining(
    session: Session, groups: Sequence[IssueGroup], found_by: date
) -> list[list[int]]:
    """For each failure group, the numbers of the entries (found by ``found_by``) explaining it."""
    issues = list(
        session.scalars(select(RpaIssue).where(RpaIssue.found_on <= found_by).order_by(RpaIssue.id))
    )
    return [[i.id for i in issues if explains(i, g)] for g in groups]


def _effect(
    session: Session, issue: RpaIssue, period: Period, groups: Sequence[IssueGroup]
) -> Effect | None:
    """Before and after the resolution: the entry's failures ÷ the runs of its groups.

    A group's runs are those of its scenario on its terminal (successes and
    failures of every error), so an error seen on two tasks is rated against
    the runs of those two tasks, and a terminal against its own runs.
    """
    resolved = issue.resolved_on
    if resolved is None or resolved > period.end or not groups:
        return None
    places = {(g.scenario_key, g.terminal) for g in groups}
    scope: list[ColumnElement[bool]] = [
        RpaRun.run_day.between(day_number(period.start), day_number(period.end)),
        RpaRun.status.in_((SUCCESS, FAILURE)),
        or_(
            *(
                (RpaRun.scenario_key == key)
                & (RpaRun.robot.is_(None) if robot is None else RpaRun.robot == robot)
                for key, robot in sorted(places, key=lambda p: (p[0], p[1] or ""))
            )
        ),
    ]
    failed = RpaRun.status == FAILURE
    if issue.error:
        failed = failed & or_(RpaRun.error_code == issue.error, RpaRun.message == issue.error)
    after = case((RpaRun.run_day >= day_number(resolved), 1), else_=0)
    counts = {0: (0, 0), 1: (0, 0)}
    for side, runs, failures in session.execute(
        select(after, func.count(), func.sum(case((failed, 1), else_=0)))
        .where(*scope)
        .group_by(after)
    ):
        counts[int(side)] = (int(runs), int(failures or 0))
    (runs_before, failures_before), (runs_after, failures_after) = counts[0], counts[1]
    before = failures_before / runs_before if runs_before else None
    after_rate = failures_after / runs_after if runs_after else None
    if not runs_after:
        verdict = "解決後の実行なし"
    elif failures_after == 0:
        verdict = "止まった"
    elif before is not None and after_rate is not None and after_rate < before:
        verdict = "減った"
    else:
        verdict = "減っていない"
    return Effect(
        resolved_on=resolved,
        runs_before=runs_before,
        failures_before=failures_before,
        rate_before=None if before is None else round(before, 6),
        runs_after=runs_after,
        failures_after=failures_after,
        rate_after=None if after_rate is None else round(after_rate, 6),
        verdict=verdict,
    )


def effect_text(effect: Effect | None) -> str:
    """A resolution's effect: 止まった（失敗率 20.0%（8/40回）→ 0.0%（0/52回））."""
    if effect is None:
        return "—"

    def rate(failures: int, runs: int, value: float | None) -> str:
        return "実行なし" if value is None else f"{value:.1%}（{failures}/{runs}回）"

    before = rate(effect.failures_before, effect.runs_before, effect.rate_before)
    after = rate(effect.failures_after, effect.runs_after, effect.rate_after)
    return f"{effect.verdict}（失敗率 {before} → {after}）"


def summarize_register(
    session: Session, period: Period, groups: Sequence[IssueGroup] | None = None
) -> RegisterSummary:
    """The register as of the period's end: each entry's state, failures and effect (SPEC §4).

    ``groups`` are the period's failure groups when the caller has them already
    (:func:`pilots.rpa.issues.summarize_issues`): on a million runs they take
    seconds to build.
    """
    issues = list(session.scalars(select(RpaIssue).order_by(RpaIssue.id)))
    if groups is None:
        groups = failure_groups(session, period).groups
    entries = []
    for issue in issues:
        if issue.found_on > period.end:
            continue
        resolved = issue.resolved_on
        if resolved is not None and resolved > period.end:
            resolved = None  # not resolved yet on the as-of date
        state = issue.state if resolved or issue.state != RESOLVED else IN_PROGRESS
        matched = [g for g in groups if explains(issue, g)]
        entries.append(
            RegisterEntry(
                id=issue.id,
                title=issue.title,
                cause=issue.cause,
                action=issue.action,
                owner=issue.owner,
                state=state,
                found_on=issue.found_on,
                resolved_on=resolved,
                task_id=issue.task_id,
                scenario=issue.scenario,
                error=issue.error,
                terminal=issue.terminal,
                links=links_text(issue),
                groups=len(matched),
                failures=sum(g.runs for g in matched),
                hours_lost=round(sum(g.hours_lost for g in matched), 6),
                effect=_effect(session, issue, period, matched),
            )
        )
    return RegisterSummary(
        **PeriodFigures.fields_of(period),
        rule=RULE,
        issues_extracted=len(entries),
        issues_resolved=sum(1 for e in entries if e.state == RESOLVED),
        found_later=len(issues) - len(entries),
        entries=entries,
    )
