"""The tasks chosen for RPA in the next fiscal year (追加適用候補となる業務の選定), as recorded.

The RPA team records its choice for fiscal year N (the tasks are for N+1):
tasks of the task catalog (業務台帳) or of the work survey last ranked with
``pilots rpa candidates FILE`` (:mod:`pilots.rpa.candidates`), named by their
id — the catalog's 業務ID, the survey's 業務ID or 業務名. The record keeps each
task with its department, the day of the decision, who chose and when it was
recorded; a new choice for the year replaces the year's record.

The figure (SPEC §1, the plan's indicator 追加適用候補となる業務の選定):
``candidates_selected`` = the tasks chosen by the as-of date, shown with
their departments (3所属3業務).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from pilots.calendar import fiscal_year_bounds, format_date, format_fiscal_year
from pilots.db import db_now
from pilots.errors import ConfigError
from pilots.tables import RpaCandidateChoice, RpaSurveyTask, RpaTask
from pilots.text import normalize_name

SOURCES = {"catalog": "業務台帳", "survey": "業務量調査"}
FIELD = "候補の業務"


@dataclass(frozen=True)
class ChosenTask:
    """A task chosen for next year, as recorded (``source``: 業務台帳 or 業務量調査)."""

    task_id: str
    task_name: str
    department: str
    source: str
    expected_hours: float | None
    chosen_on: date
    chosen_by: str


@dataclass(frozen=True)
class CandidateSelection:
    """The tasks chosen in fiscal year ``fiscal_year`` for ``for_year``.

    ``candidates_selected`` tasks in ``departments`` departments (``text``:
    3所属3業務); empty when nothing was chosen by the as-of date.
    """

    fiscal_year: int
    for_year: int
    candidates_selected: int
    departments: int
    text: str
    tasks: list[ChosenTask] = field(default_factory=list)


def decision_day(fiscal_year: int, today: date) -> date:
    """The day a choice recorded today is dated by default: today, or the year's last day.

    A choice for fiscal year N recorded after the year is over belongs to
    that year, so its report (as of March 31) counts it.
    """
    first, last = fiscal_year_bounds(fiscal_year)
    return min(max(today, first), last)


def select_candidates(
    session: Session,
    fiscal_year: int,
    task_ids: Sequence[str],
    *,
    chosen_on: date,
    chosen_by: str,
) -> CandidateSelection:
    """Record the tasks chosen in ``fiscal_year`` for the next year, replacing its record.

    Raises:
        ConfigError: no task given, an id in neither the catalog nor the kept
            survey, or a decision day outside the fiscal year; nothing is
            stored then.
    """
    first, last = fiscal_year_bounds(fiscal_year)
    if not first <= chosen_on <= last:
        raise ConfigError(
            "選定日",
            f"{format_date(chosen_on)}は{format_fiscal_year(fiscal_year)}"
            f"（{format_date(first)}〜{format_date(last)}）の日付ではありません",
        )
    wanted = list(dict.fromkeys(t.strip() for t in task_ids if t.strip()))
    if not wanted:
        raise ConfigError(FIELD, "業務を1つ以上選んでください")
    catalog = {
        t.task_id: t
        for t in session.scalars(
            select(RpaTask)
            .where(RpaTask.task_id.in_(wanted))
            .options(selectinload(RpaTask.department))
        )
    }
    survey = {
        t.task_ref: t
        for t in session.scalars(
            select(RpaSurveyTask).options(selectinload(RpaSurveyTask.department))
        )
    }
    survey_by_key = {normalize_name(ref): t for ref, t in survey.items()}
    rows: list[RpaCandidateChoice] = []
    recorded = db_now(session)
    for position, task_id in enumerate(wanted, start=1):
        choice = RpaCandidateChoice(
            fiscal_year=fiscal_year,
            position=position,
            chosen_on=chosen_on,
            chosen_by=chosen_by[:100],
            recorded_at=recorded,
        )
        known = catalog.get(task_id)
        surveyed = survey.get(task_id) or survey_by_key.get(normalize_name(task_id))
        if known is not None:
            choice.task_ref, choice.task_name, choice.source = task_id, known.task_name, "catalog"
            choice.department = known.department
        elif surveyed is not None:
            choice.task_ref, choice.task_name = surveyed.task_ref, surveyed.task_name
            choice.source, choice.expected_hours = "survey", surveyed.expected_hours
            choice.department = surveyed.department
        else:
            raise ConfigError(
                FIELD,
                f"「{task_id}」は業務台帳にも、取り込んだ業務量調査にもありません",
            )
        rows.append(choice)
    if len({r.task_ref for r in rows}) != len(rows):
        raise ConfigError(FIELD, "同じ業務が2回選ばれています")
    session.execute(delete(RpaCandidateChoice).where(RpaCandidateChoice.fiscal_year == fiscal_year))
    session.add_all(rows)
    session.flush()
    return chosen_candidates(session, fiscal_year)


def chosen_candidates(
    session: Session, fiscal_year: int, as_of: date | None = None
) -> CandidateSelection:
    """The tasks recorded as chosen in ``fiscal_year`` (decided by ``as_of``, when given)."""
    query = (
        select(RpaCandidateChoice)
        .where(RpaCandidateChoice.fiscal_year == fiscal_year)
        .options(selectinload(RpaCandidateChoice.department))
        .order_by(RpaCandidateChoice.position)
    )
    if as_of is not None:
        query = query.where(RpaCandidateChoice.chosen_on <= as_of)
    tasks = [
        ChosenTask(
            task_id=c.task_ref,
            task_name=c.task_name,
            department=c.department.name,
            source=SOURCES.get(c.source, c.source),
            expected_hours=c.expected_hours,
            chosen_on=c.chosen_on,
            chosen_by=c.chosen_by,
        )
        for c in session.scalars(query)
    ]
    departments = len({t.department for t in tasks})
    return CandidateSelection(
        fiscal_year=fiscal_year,
        for_year=fiscal_year + 1,
        candidates_selected=len(tasks),
        departments=departments,
        text=f"{departments}所属{len(tasks)}業務" if tasks else "未選定",
        tasks=tasks,
    )
