"""Storing bot run logs exactly as the vendors export them (``pilots rpa ingest``).

A file is read by :mod:`pilots.rpa.logfile` and its rows normalised by
:mod:`pilots.rpa.normalise`; this module stores them:

* Each run is stored under its key (format and the export's id, or a hash).
  Storing a key that is already there adds nothing (a duplicate), so
  re-ingesting the same or an overlapping export is harmless. A run stored in
  a state that can still change (waiting, running) is replaced when a later
  export shows it in another state, and a run stored without its error code
  and retry count (before migration 0014) when an export has them.
* A row that cannot be read is stored as a reject with file, line and reason,
  and the rest of the file loads. A run whose scenario matches no task in the
  catalog is stored and counted as unmatched; the summary matches again, so a
  catalog imported later still applies.
* The runs go to the database in batches through the driver's
  ``executemany``, while a second process parses the next ones for a large
  file (:func:`pilots.rpa.logfile.in_child`).

One call of :func:`ingest_file` is one file in the caller's transaction: the
file lands completely (runs and rejects) or, on an error, not at all.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, literal_column, select, update
from sqlalchemy.orm import Session

from pilots.rpa.formats import choose_format
from pilots.rpa.logfile import in_child, open_log, parse_in_child
from pilots.rpa.normalise import REJECT_COLUMNS, RUN_COLUMNS, Normaliser, Parser
from pilots.tables import RpaImport, RpaReject, RpaRun, RpaTaskScenario

# A run stored again (a waiting run now finished) takes every new value but its key.
_UPDATABLE = tuple(c for c in RUN_COLUMNS if c not in ("line", "run_key"))


@dataclass(frozen=True)
class ScenarioCount:
    """A scenario name and how many runs carry it."""

    scenario: str
    runs: int


@dataclass
class FileResult:
    """What ingesting one file did.

    Attributes:
        rows: data rows read (runs + rejected rows; blank lines not counted).
        runs_added: runs new to the database.
        runs_updated: runs stored earlier in a changing state (waiting,
            running) that this file showed in a new state.
        duplicates: rows whose run was already stored (or appeared earlier in the file).
        rejected: rows that could not be read, stored as rejects.
        unmatched: rows of this file whose scenario matches no task of the catalog.
        unmatched_scenarios: those scenario names, most runs first.
    """

    file: str
    format: str
    encoding: str | None
    rows: int = 0
    runs_added: int = 0
    runs_updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    unmatched: int = 0
    unmatched_scenarios: list[ScenarioCount] = field(default_factory=list)


@dataclass
class IngestResult:
    """What ``pilots rpa ingest`` did, per file and in total."""

    files: list[FileResult] = field(default_factory=list)
    rows: int = 0
    runs_added: int = 0
    runs_updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    unmatched: int = 0

    def add(self, result: FileResult) -> None:
        """Count one file's result in the totals."""
        self.files.append(result)
        self.rows += result.rows
        self.runs_added += result.runs_added
        self.runs_updated += result.runs_updated
        self.duplicates += result.duplicates
        self.rejected += result.rejected
        self.unmatched += result.unmatched


class _BulkStatement:
    """Executes one Core statement for many rows straight through the driver.

    The statement is built with SQLAlchemy (dialect-correct ON CONFLICT
    clauses) and compiled once; the rows go to the DB-API ``executemany`` of
    the session's own connection, inside its transaction. Per-row parameter
    processing in SQLAlchemy would cost more than the whole insert, so the
    caller prepares rows in the driver's types.
    """

    def __init__(self, session: Session, statement: Any, columns: Sequence[str]) -> None:
        connection = session.connection()
        compiled = statement.compile(dialect=connection.dialect)
        self.sql = str(compiled)
        self.columns = tuple(columns)
        self.positional = bool(compiled.positional)
        self.order: list[int] | None = None
        if self.positional:
            order = [self.columns.index(n) for n in compiled.positiontup or ()]
            self.order = None if order == list(range(len(self.columns))) else order
        self.cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        """Store a batch of rows (tuples in ``columns`` order)."""
        if not rows:
            return
        params: Any = rows
        if not self.positional:
            params = [dict(zip(self.columns, r, strict=True)) for r in rows]
        elif self.order is not None:
            params = [tuple(r[i] for i in self.order) for r in rows]
        self.cursor.executemany(self.sql, params)


def _dialect_insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def _upsert_runs(dialect: str, import_id: int, format_name: str) -> Any:
    table: Table = RpaRun.__table__  # type: ignore[assignment]
    values: dict[str, Any] = {c: bindparam(c) for c in RUN_COLUMNS}
    # The same for every row of the file: written into the statement, not bound per row.
    assert format_name.isidentifier()
    values["import_id"] = literal_column(str(int(import_id)))
    values["format"] = literal_column(f"'{format_name}'")
    stmt = _dialect_insert(dialect, table).values(values)
    changes: dict[str, Any] = {c: stmt.excluded[c] for c in _UPDATABLE}
    changes["updated_import_id"] = stmt.excluded["import_id"]
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["format", "run_key"],
        set_=changes,
        # Only a run stored in a state that can still change (waiting, running)
        # is replaced, and only by a final one: the same export again, or the
        # same state spelt differently (2 / Running), changes nothing. A run
        # stored before pilots kept error codes and retry counts (migration
        # 0014) takes them from an export that has them.
        where=new["final"].is_(True)
        & (
            table.c.final.is_(False)
            | (
                table.c.error_code.is_(None)
                & table.c.retries.is_(None)
                & (new["error_code"].is_not(None) | new["retries"].is_not(None))
            )
        ),
    )


def _insert_rejects(dialect: str) -> Any:
    table: Table = RpaReject.__table__  # type: ignore[assignment]
    stmt = _dialect_insert(dialect, table).values({c: bindparam(c) for c in REJECT_COLUMNS})
    return stmt.on_conflict_do_nothing(index_elements=["row_hash"])


def ingest_file(
    session: Session,
    path: str | Path,
    format_name: str = "auto",
    *,
    file_name: str | None = None,
) -> FileResult:
    """Load one run log into the database (SPEC §4 runs), in the caller's transaction.

    Args:
        session: the session whose transaction the file lands in.
        path: the export (CSV or xlsx).
        format_name: ``auto`` (recognise from the header), ``wmc``, ``uipath``,
            ``pad`` or ``generic``.
        file_name: the file's name as its user knows it (an upload's own
            name), which with the line identifies a reject; by default the
            name in ``path``.

    Raises:
        InputFileError: the file cannot be read as a whole (missing, unknown
            layout, undecodable, broken CSV); nothing of it is kept.
    """
    with open_log(path) as log:
        run_format = choose_format(log.path, log.header, format_name)
        layout = run_format.bind(log.path, log.header)
        connection = session.connection()
        dialect = connection.dialect.name
        if dialect == "sqlite":
            # A bigger page cache keeps the unique index of a large table in memory.
            connection.exec_driver_sql("PRAGMA cache_size = -131072")
        import_id = session.execute(
            insert(RpaImport)
            .values(file=str(path)[:500], format=run_format.name, encoding=log.encoding)
            .returning(RpaImport.id)
        ).scalar_one()
        known = set(session.scalars(select(RpaTaskScenario.scenario_key)))
        normalise = Normaliser(run_format, layout, log.text, sqlite=dialect == "sqlite")
        name = run_format.name
        parser = Parser(
            log,
            normalise,
            known,
            import_id=import_id,
            format_name=name,
            file_name=file_name if file_name is not None else log.path.name,
        )
        runs = _BulkStatement(session, _upsert_runs(dialect, import_id, name), RUN_COLUMNS)
        # The loop makes no reference cycles; the cyclic collector would only
        # rescan the batches waiting to be stored, again and again.
        collecting = gc.isenabled()
        gc.disable()
        batches = in_child(parser) if parse_in_child(log) else parser.batches()
        try:
            for batch in batches:
                runs.write(batch)
        finally:
            batches.close()  # on an error: stop the parser process now
            if collecting:
                gc.enable()
        totals = parser.totals
        if totals.rejects:
            _BulkStatement(session, _insert_rejects(dialect), REJECT_COLUMNS).write(totals.rejects)

    result = FileResult(file=str(path), format=name, encoding=log.encoding)
    result.rows = rows = totals.rows
    result.rejected = len(totals.rejects)
    result.runs_added = session.execute(
        select(func.count()).select_from(RpaRun).where(RpaRun.import_id == import_id)
    ).scalar_one()
    result.runs_updated = session.execute(
        select(func.count())
        .select_from(RpaRun)
        .where(RpaRun.updated_import_id == import_id, RpaRun.import_id != import_id)
    ).scalar_one()
    result.duplicates = rows - result.rejected - result.runs_added - result.runs_updated
    result.unmatched = sum(totals.unmatched.values())
    result.unmatched_scenarios = [
        ScenarioCount(totals.shown[key], count) for key, count in totals.unmatched.most_common()
    ]
    session.expire_all()  # runs loaded earlier in this session may have been replaced
    session.execute(
        update(RpaImport)
        .where(RpaImport.id == import_id)
        .values(
            rows=result.rows,
            runs_added=result.runs_added,
            runs_updated=result.runs_updated,
            duplicates=result.duplicates,
            rejected=result.rejected,
            unmatched=result.unmatched,
        )
    )
    return result


@dataclass(frozen=True)
class RejectRow:
    """A stored reject, as ``pilots rpa rejects`` lists it."""

    file: str
    line: int
    format: str
    reason: str
    raw: str


def list_rejects(session: Session, file: str | None = None) -> list[RejectRow]:
    """Every stored reject (or those of one file), by file and line."""
    query = select(RpaReject).order_by(RpaReject.file, RpaReject.line)
    if file is not None:
        query = query.where(RpaReject.file == file)
    return [RejectRow(r.file, r.line, r.format, r.reason, r.raw) for r in session.scalars(query)]
