"""The RPA trial's operations in the report: the issues and their effect, next year's tasks.

Read from the RPA summaries (SPEC §4 and §1), as the report's RPA section
lists them:

* the register as of the as-of date (:func:`pilots.rpa.register.summarize_register`):
  the issues explaining the most hours lost, with their state and the
  failure rate before and after their resolution;
* the failure groups of the logs losing the most hours, with the issues that
  explain them, and the terminals whose failure rate is flagged
  (:func:`pilots.rpa.issues.summarize_issues`);
* the tasks chosen for the next year by the as-of date (:mod:`pilots.rpa.selection`).

The figures a plan may cite (:data:`OPERATIONS_SOURCES`): ``rpa.issues_extracted``
and ``rpa.issues_resolved`` (実運用上での課題の抽出と解決: N件を抽出、M件を解決) and
``rpa.candidates_selected`` (追加適用候補となる業務の選定: 3所属3業務).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from pilots.calendar import Period, format_date, format_fiscal_year
from pilots.config import Settings
from pilots.rpa.issues import summarize_issues
from pilots.rpa.register import (
    RegisterSummary,
    effect_text,
    entries_explaining,
    summarize_register,
)
from pilots.rpa.selection import CandidateSelection, chosen_candidates

OPERATIONS_SOURCES = ("rpa.issues_extracted", "rpa.issues_resolved", "rpa.candidates_selected")
"""The computed figures of this part, by the name a plan cites them with."""

TOP_ISSUES = 10  # register entries listed (by hours lost explained)
TOP_GROUPS = 5  # failure groups of the logs listed (by hours lost)


@dataclass(frozen=True)
class IssueLine:
    """An issue of the register as the report lists it (``effect``: before → after, in words)."""

    number: int
    title: str
    cause: str
    action: str
    owner: str
    state: str
    found: str
    resolved: str
    links: str
    failures: int
    hours_lost: float
    effect: str


@dataclass(frozen=True)
class GroupLine:
    """A failure group of the logs as the report lists it (``explained_by``: No.1, or 未登録)."""

    task: str
    scenario: str
    error: str
    terminal: str
    failures: int
    hours_lost: float
    cluster: str
    explained_by: str


@dataclass(frozen=True)
class CandidateLine:
    """A task chosen for next year as the report lists it."""

    task_id: str
    task_name: str
    department: str
    expected_hours: float | None
    chosen: str


@dataclass(frozen=True)
class RpaOperations:
    """What the report says of the RPA trial's operations, as of the period's end.

    ``flagged`` are the terminals whose failure rate is far above the
    others' (in words, with their rates and the test's p-value).
    """

    register: RegisterSummary
    candidates: CandidateSelection
    candidates_title: str
    failures: int
    hours_lost: float
    terminal_rule: str
    issues: list[IssueLine] = field(default_factory=list)
    groups: list[GroupLine] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    chosen: list[CandidateLine] = field(default_factory=list)

    @property
    def issues_extracted(self) -> int:
        """Issues found by the as-of date (N件を抽出)."""
        return self.register.issues_extracted

    @property
    def issues_resolved(self) -> int:
        """Issues resolved by the as-of date (M件を解決)."""
        return self.register.issues_resolved

    @property
    def candidates_selected(self) -> int:
        """Tasks chosen for next year by the as-of date (the 業務 of 3所属3業務)."""
        return self.candidates.candidates_selected

    def text(self, source: str) -> str:
        """A figure of :data:`OPERATIONS_SOURCES` as the sheet words it: 5件を抽出, 4件を解決,
        3所属3業務 (未選定 before the choice)."""
        if source == "rpa.candidates_selected":
            return self.candidates.text
        if source == "rpa.issues_extracted":
            return f"{self.issues_extracted}件を抽出"
        return f"{self.issues_resolved}件を解決"


def rpa_operations(session: Session, period: Period) -> RpaOperations | None:
    """The RPA operations of a period (None when there is no issue, failure or choice yet).

    The terminal check's level and minimum of runs are the ``rpa.terminal_*``
    settings, read as the command line reads them.
    """
    settings = Settings()
    found = summarize_issues(
        session,
        period,
        alpha=settings.get("rpa.terminal_alpha"),
        min_runs=settings.get("rpa.terminal_min_runs"),
    )
    register = summarize_register(session, period, found.groups)
    candidates = chosen_candidates(session, period.fiscal_year, period.end)
    if not (register.entries or found.groups or candidates.tasks):
        return None
    groups = found.groups[:TOP_GROUPS]
    explained = entries_explaining(session, groups, period.end)
    return RpaOperations(
        register=register,
        candidates=candidates,
        candidates_title=(
            f"{format_fiscal_year(candidates.for_year)}の適用候補（{candidates.text}）"
        ),
        failures=found.failures,
        hours_lost=found.hours_lost,
        terminal_rule=found.terminal_rule,
        issues=[
            IssueLine(
                number=e.id,
                title=e.title,
                cause=e.cause,
                action=e.action,
                owner=e.owner,
                state=e.state,
                found=format_date(e.found_on, "short"),
                resolved=format_date(e.resolved_on, "short") if e.resolved_on else "",
                links=e.links,
                failures=e.failures,
                hours_lost=e.hours_lost,
                effect=effect_text(e.effect),
            )
            for e in register.top(TOP_ISSUES)
        ],
        groups=[
            GroupLine(
                task=f"{g.task_id} {g.task_name}",
                scenario=g.scenario,
                error=" ".join(x for x in (g.error_code, (g.error or "")[:80]) if x) or "—",
                terminal=g.terminal or "—",
                failures=g.runs,
                hours_lost=g.hours_lost,
                cluster=g.cluster,
                explained_by="、".join(f"No.{n}" for n in numbers) or "未登録",
            )
            for g, numbers in zip(groups, explained, strict=True)
        ],
        flagged=[
            f"{t.terminal}: 失敗率 {t.failure_rate or 0:.1%}（{t.failures}/{t.runs}回）、"
            f"ほかの端末 {t.others_rate or 0:.1%}、p = {t.p_value or 0:.2g}"
            for t in found.terminals
            if t.flagged
        ],
        chosen=[
            CandidateLine(
                task_id=t.task_id,
                task_name=t.task_name,
                department=t.department,
                expected_hours=t.expected_hours,
                chosen=f"{format_date(t.chosen_on, 'short')} {t.chosen_by}".strip(),
            )
            for t in candidates.tasks
        ],
    )
