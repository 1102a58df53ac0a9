"""The RPA task catalog (業務台帳): which business tasks are automated and their minutes.

Columns (SPEC §4; the English names or the Japanese headers):

- ``task_id`` / 業務ID — identity; re-importing updates a task by it
- ``task_name`` / 業務名
- ``department`` / 所属 — matched by name (NFKC, trimmed), created if new
- ``scenario`` / シナリオ名 — the scenario / process / flow name(s) in the bot
  logs, several separated by ``;``
- ``manual_minutes_per_case`` / 手作業時間(分/件) — hand-work minutes per case
  before RPA (> 0)
- ``cases_per_run`` / 件数(件/回) — cases per run when a log has no item count (> 0)
- ``residual_minutes_per_run`` / 残作業時間(分/回) — human minutes still needed
  per run (≥ 0; blank = 0)
- ``exception_minutes_per_failure`` / 例外対応時間(分/回) — extra minutes when a
  run fails (≥ 0; blank = 0)

The file is one transaction: any impossible value (a negative or missing
number, no scenario, a task or scenario listed twice) refuses the whole file
and names the row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pilots.errors import InputFileError
from pilots.org import DepartmentResolver
from pilots.tables import RpaTask, RpaTaskScenario
from pilots.tabular import Column, read_table
from pilots.text import normalize_name

CATALOG_COLUMNS = (
    Column("task_id", ("業務ID", "業務番号")),
    Column("task_name", ("業務名",)),
    Column("department", ("所属", "所属名")),
    Column("scenario", ("シナリオ名", "シナリオ")),
    Column("manual_minutes_per_case", ("手作業時間(分/件)", "手作業時間")),
    Column("cases_per_run", ("件数(件/回)", "件数")),
    Column("residual_minutes_per_run", ("残作業時間(分/回)", "残作業時間")),
    Column("exception_minutes_per_failure", ("例外対応時間(分/回)", "例外対応時間")),
)
_LABELS = {c.name: c.aliases[0] for c in CATALOG_COLUMNS}


@dataclass
class CatalogResult:
    """What ``pilots rpa catalog`` did."""

    file: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    scenarios: int = 0
    departments_created: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TaskRow:
    """One catalog task, as ``pilots rpa tasks`` lists it."""

    task_id: str
    task_name: str
    department: str
    scenarios: list[str]
    manual_minutes_per_case: float
    cases_per_run: float
    residual_minutes_per_run: float
    exception_minutes_per_failure: float


@dataclass
class _Entry:
    line: int
    task_id: str
    task_name: str
    department: str
    scenarios: list[tuple[str, str]]  # (as written, key)
    numbers: dict[str, float]


def _read(path: str | Path) -> list[_Entry]:
    table = read_table(path, header_hint=CATALOG_COLUMNS)
    entries: list[_Entry] = []
    seen_ids: dict[str, int] = {}
    seen_scenarios: dict[str, int] = {}
    for row in table.mapped(CATALOG_COLUMNS):
        values = {}
        for name in ("task_id", "task_name", "department"):
            values[name] = row.text(name)
            if not values[name]:
                label = _LABELS[name]
                raise InputFileError(path, f"{label}が空です", line=row.line, column=label)
        task_id = values["task_id"]
        if task_id in seen_ids:
            raise InputFileError(
                path, f"業務ID {task_id} が{seen_ids[task_id]}行目と重複しています", line=row.line
            )
        seen_ids[task_id] = row.line
        scenarios = []
        for part in re.split("[;；]", row.text("scenario")):
            written = part.strip()
            if not written:
                continue
            key = normalize_name(written)
            if key in seen_scenarios and seen_scenarios[key] != row.line:
                raise InputFileError(
                    path,
                    f"シナリオ名「{written}」が{seen_scenarios[key]}行目の業務にもあります"
                    "（シナリオは1つの業務に属します）",
                    line=row.line,
                    column="シナリオ名",
                )
            if key not in seen_scenarios:
                seen_scenarios[key] = row.line
                scenarios.append((written, key))
        if not scenarios:
            raise InputFileError(path, "シナリオ名が空です", line=row.line, column="シナリオ名")
        numbers = {
            name: row.number(path, name, _LABELS[name], positive=positive, blank=blank)
            for name, positive, blank in (
                ("manual_minutes_per_case", True, None),
                ("cases_per_run", True, None),
                ("residual_minutes_per_run", False, 0.0),  # blank: no hand work left
                ("exception_minutes_per_failure", False, 0.0),
            )
        }
        entries.append(
            _Entry(
                row.line,
                task_id,
                values["task_name"],
                values["department"],
                scenarios,
                numbers,
            )
        )
    if not entries:
        raise InputFileError(path, "業務が1件もありません")
    return entries


def import_catalog(session: Session, path: str | Path) -> CatalogResult:
    """Load a task catalog (CSV or xlsx); tasks already known are updated by ``task_id``.

    Tasks not in the file are kept. A task's scenario names are replaced by
    the file's. Runs are matched to tasks when the summary is computed, so
    the new catalog applies to every run already ingested.

    Raises:
        InputFileError: a missing column or an impossible value (the row is
            named); a scenario that already belongs to another task.
    """
    entries = _read(path)
    result = CatalogResult(file=str(path), rows=len(entries))
    resolve = DepartmentResolver(session, created_by="rpa catalog")
    existing = {
        t.task_id: t
        for t in session.scalars(select(RpaTask).options(selectinload(RpaTask.scenarios)))
    }
    owners = {
        key: task_id
        for key, task_id in session.execute(
            select(RpaTaskScenario.scenario_key, RpaTask.task_id).join(RpaTask)
        )
    }
    in_file = {e.task_id for e in entries}
    for entry in entries:
        for written, key in entry.scenarios:
            owner = owners.get(key)
            # A task of the file gives up its old names, so only other tasks' names clash.
            if owner is not None and owner != entry.task_id and owner not in in_file:
                raise InputFileError(
                    path,
                    f"シナリオ名「{written}」は登録済みの業務 {owner} に属しています",
                    line=entry.line,
                    column="シナリオ名",
                )
    before = {tid: _snapshot(task) for tid, task in existing.items() if tid in in_file}
    for tid in before:
        existing[tid].scenarios.clear()
    session.flush()  # names may move between the file's tasks: free them first
    for entry in entries:
        department = resolve(entry.department)
        task = existing.get(entry.task_id)
        if task is None:
            task = RpaTask(task_id=entry.task_id)
            session.add(task)
        task.task_name = entry.task_name
        task.department = department
        task.manual_minutes_per_case = entry.numbers["manual_minutes_per_case"]
        task.cases_per_run = entry.numbers["cases_per_run"]
        task.residual_minutes_per_run = entry.numbers["residual_minutes_per_run"]
        task.exception_minutes_per_failure = entry.numbers["exception_minutes_per_failure"]
        task.source_file = str(path)[:500]
        task.source_line = entry.line
        task.scenarios = [RpaTaskScenario(scenario=w, scenario_key=k) for w, k in entry.scenarios]
        result.scenarios += len(entry.scenarios)
        if entry.task_id not in before:
            result.added += 1
        elif before[entry.task_id] == _snapshot(task):
            result.unchanged += 1
        else:
            result.updated += 1
    session.flush()
    result.departments_created = list(resolve.created)
    return result


def _snapshot(task: RpaTask) -> tuple[object, ...]:
    return (
        task.task_name,
        task.department.id,
        task.manual_minutes_per_case,
        task.cases_per_run,
        task.residual_minutes_per_run,
        task.exception_minutes_per_failure,
        sorted(s.scenario for s in task.scenarios),
    )


def list_tasks(session: Session) -> list[TaskRow]:
    """Every catalog task, by task_id."""
    tasks = session.scalars(
        select(RpaTask)
        .options(selectinload(RpaTask.scenarios), selectinload(RpaTask.department))
        .order_by(RpaTask.task_id)
    )
    return [
        TaskRow(
            t.task_id,
            t.task_name,
            t.department.name,
            sorted(s.scenario for s in t.scenarios),
            t.manual_minutes_per_case,
            t.cases_per_run,
            t.residual_minutes_per_run,
            t.exception_minutes_per_failure,
        )
        for t in tasks
    ]
