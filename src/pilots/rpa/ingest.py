"""Ingesting bot run logs exactly as the vendors export them (``pilots rpa ingest``).

How a file is read:

* The encoding is detected: UTF-8 (with or without BOM), else CP932 (MS932,
  WinActor Manager's default). The format is recognised from the header
  (:func:`pilots.rpa.formats.choose_format`). CSV files are streamed row by
  row, so a file of a million runs never sits in memory; xlsx is read too.
* Each run is keyed by its format and the export's id (WinActor タスクID,
  UiPath Key, flowsessionid), or a hash of its scenario, start time and robot
  where the export has no id. Storing a key that is already there adds
  nothing (a duplicate), so re-ingesting the same or an overlapping export is
  harmless. A run stored in a state that can still change (waiting, running)
  is replaced when a later export shows it in another state.
* A row that cannot be read — no scenario, no status, an impossible date, an
  end before the start, a negative item count, a wrong number of cells — is
  stored as a reject with file, line and reason, and the rest of the file
  loads. A run whose scenario matches no task in the catalog is stored and
  counted as unmatched; the summary matches again, so a catalog imported
  later still applies.
* Times are stored as naive Japan time: a time with ``Z`` or an offset
  (UiPath and Dataverse APIs) is converted, one without is Japan time already.
  A run belongs to the fiscal period of its start time; without one, its end
  time; without either, its creation time.

One call of :func:`ingest_file` is one file in the caller's transaction: the
file lands completely (runs and rejects) or, on an error, not at all.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from pilots.calendar import parse_datetime, to_japan_time
from pilots.errors import CalendarError, InputFileError
from pilots.models import RpaImport, RpaReject, RpaRun, RpaTaskScenario
from pilots.rpa.formats import FAILURE, SUCCESS, RowError, RunFields, RunFormat, choose_format
from pilots.tabular import EXCEL_SUFFIXES, as_text, read_table
from pilots.text import normalize_name

BATCH_ROWS = 20_000
_SNIFF_BYTES = 1 << 20
_RUN_COLUMNS = (
    "import_id",
    "line",
    "format",
    "run_key",
    "scenario",
    "scenario_key",
    "status",
    "status_raw",
    "final",
    "started_at",
    "ended_at",
    "run_day",
    "cases",
    "robot",
    "message",
)
_REJECT_COLUMNS = ("import_id", "file", "line", "format", "reason", "raw", "row_hash")
_UPDATABLE = (
    "scenario",
    "scenario_key",
    "status",
    "status_raw",
    "final",
    "started_at",
    "ended_at",
    "run_day",
    "cases",
    "robot",
    "message",
)


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


@dataclass
class LogFile:
    """An opened run log: its encoding, header and data rows (line number, cells)."""

    path: Path
    encoding: str | None
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]


def detect_encoding(path: Path) -> str:
    """UTF-8 (a BOM is skipped) if the whole file is valid UTF-8, else CP932.

    The first megabyte usually decides (a WinActor header is Japanese); when
    it is plain ASCII the rest of the file is checked in chunks.

    Raises:
        InputFileError: the file is neither UTF-8 nor CP932.
    """
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        for encoding in ("utf-8", "cp932"):
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                decoder.decode(head, final=False)
                if encoding == "utf-8" and head.isascii():
                    # Plain ASCII so far says nothing: look at the rest.
                    while chunk := f.read(8 << 20):
                        decoder.decode(chunk, final=False)
                    decoder.decode(b"", final=True)
                return encoding
            except UnicodeDecodeError:
                continue
    raise InputFileError(
        path, "文字コードを判別できません（UTF-8、BOM付きUTF-8、Shift_JIS(CP932)に対応）"
    )


@contextmanager
def open_log(path: str | Path) -> Iterator[LogFile]:
    """Open a run log (CSV in UTF-8 / UTF-8 with BOM / CP932, or xlsx) for streaming.

    The header is the first non-blank row. Rows come as lists of text with
    their 1-based line number (the line a CSV record starts on; the row of a sheet).

    Raises:
        InputFileError: missing, empty, undecodable or malformed file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "ファイルがありません")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        table = read_table(path)
        width = len(table.header)

        def sheet_rows() -> Iterator[tuple[int, list[str]]]:
            for line, cells in table.rows:
                texts = [as_text(c) for c in cells]
                # A sheet's rows end where their last filled cell does.
                while len(texts) > width and not texts[-1]:
                    texts.pop()
                texts.extend([""] * (width - len(texts)))
                yield line, texts

        yield LogFile(path, None, table.header, sheet_rows())
        return
    encoding = detect_encoding(path)
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        reader = csv.reader(text)
        state = {"line": 1}

        def records() -> Iterator[tuple[int, list[str]]]:
            try:
                for cells in reader:
                    yield state["line"], cells
                    state["line"] = reader.line_num + 1
            except csv.Error as exc:
                raise InputFileError(
                    path, f"CSVとして読めません: {exc}", line=state["line"]
                ) from None
            except UnicodeDecodeError:
                raise InputFileError(
                    path, f"{encoding} として読めない文字があります", line=state["line"]
                ) from None

        rows = records()
        header: list[str] | None = None
        for _line, cells in rows:
            if any(c.strip() for c in cells):
                header = [c.strip() for c in cells]
                break
        if header is None:
            raise InputFileError(path, "データがありません（空のファイルです）")
        yield LogFile(path, encoding, header, rows)


def check_files(paths: Sequence[str | Path], format_name: str = "auto") -> list[RunFormat]:
    """Recognise each file's format before anything is written.

    Raises:
        InputFileError: a file is missing, unreadable, or of no known layout.
    """
    found = []
    for path in paths:
        with open_log(path) as log:
            found.append(choose_format(log.path, log.header, format_name))
    return found


class _Normaliser:
    """Turns a row's :class:`RunFields` into the stored run (dates, status, key)."""

    def __init__(self, run_format: RunFormat, sqlite: bool) -> None:
        self.format = run_format
        self.sqlite = sqlite
        self.keys: dict[str, str] = {}
        self.statuses: dict[str, tuple[str, bool]] = {}

    def _time(self, text: str, label: str) -> datetime | None:
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text.replace("/", "-"))
        except ValueError:
            if not text.strip():
                return None
            try:
                return parse_datetime(text)
            except CalendarError as exc:
                raise RowError(f"{label}が読めません（{exc}）") from None
        return value if value.tzinfo is None else to_japan_time(value)

    def __call__(self, f: RunFields, cells: list[str]) -> tuple[Any, ...]:
        scenario = f.scenario.strip()
        if not scenario:
            raise RowError("シナリオ名が空です")
        key = self.keys.get(scenario)
        if key is None:
            key = self.keys[scenario] = normalize_name(scenario)
        raw_status = f.status.strip()
        if not raw_status:
            raise RowError("状態が空です")
        status = self.statuses.get(raw_status)
        if status is None:
            status = self.statuses[raw_status] = self.format.classify(raw_status)
        started = self._time(f.started, "開始日時")
        ended = self._time(f.ended, "終了日時")
        if started is not None and ended is not None and ended < started:
            raise RowError(f"終了日時 {f.ended} が開始日時 {f.started} より前です")
        anchor = started or ended or self._time(f.created, "作成日時")
        if anchor is None:
            if status[0] in (SUCCESS, FAILURE):
                raise RowError("開始日時も終了日時もありません")
            run_day = None
        else:
            run_day = anchor.year * 10000 + anchor.month * 100 + anchor.day
        cases = None
        if f.cases:
            cases = _cases(f.cases)
        robot = f.robot.strip()[:200]
        run_id = f.run_id.strip()
        if not run_id or len(run_id) > 100:
            identity = (
                f"{key}\x1f{started.isoformat()}\x1f{robot}" if started else "\x1f".join(cells)
            )
            run_id = "#" + hashlib.sha1(identity.encode("utf-8")).hexdigest()
        if self.sqlite:
            started_db: Any = started.isoformat(" ") if started is not None else None
            ended_db: Any = ended.isoformat(" ") if ended is not None else None
        else:
            started_db, ended_db = started, ended
        return (
            run_id,
            scenario[:300],
            key[:300],
            status[0],
            raw_status[:64],
            status[1],
            started_db,
            ended_db,
            run_day,
            cases,
            robot,
            f.message.strip()[:2000],
        )


def _cases(text: str) -> int | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        number = float(normalize_name(text))
    except ValueError:
        raise RowError(f"件数が数値ではありません: {text}") from None
    if not number.is_integer() or number < 0:
        raise RowError(f"件数は0以上の整数にしてください: {text}")
    return int(number)


class _BulkWriter:
    """Executes one Core statement for many rows straight through the driver.

    The statement is built with SQLAlchemy (dialect-correct ON CONFLICT
    clauses) and compiled once; the rows go to the DB-API ``executemany`` of
    the session's own connection, inside its transaction. Per-row parameter
    processing in SQLAlchemy costs more than the whole insert for a million
    runs, so the rows are prepared in the driver's types by the caller.
    """

    def __init__(self, session: Session, statement: Any, columns: Sequence[str]) -> None:
        connection = session.connection()
        compiled = statement.compile(dialect=connection.dialect)
        self.sql = str(compiled)
        self.columns = tuple(columns)
        self.positional = bool(compiled.positional)
        self.order: list[int] | None = None
        if self.positional:
            names = list(compiled.positiontup or ())
            order = [self.columns.index(n) for n in names]
            self.order = None if order == list(range(len(self.columns))) else order
        self.cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def write(self, rows: list[tuple[Any, ...]]) -> None:
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


def _upsert_runs(dialect: str) -> Any:
    table: Table = RpaRun.__table__  # type: ignore[assignment]
    stmt = _dialect_insert(dialect, table).values({c: bindparam(c) for c in _RUN_COLUMNS})
    changes: dict[str, Any] = {c: stmt.excluded[c] for c in _UPDATABLE}
    changes["updated_import_id"] = stmt.excluded["import_id"]
    return stmt.on_conflict_do_update(
        index_elements=["format", "run_key"],
        set_=changes,
        # Only a run stored in a state that can still change (waiting, running)
        # is replaced, and only by a final one: the same export again, or the
        # same state spelt differently (2 / Running), changes nothing.
        where=table.c.final.is_(False) & stmt.excluded["final"].is_(True),
    )


def _insert_rejects(dialect: str) -> Any:
    table: Table = RpaReject.__table__  # type: ignore[assignment]
    stmt = _dialect_insert(dialect, table).values({c: bindparam(c) for c in _REJECT_COLUMNS})
    return stmt.on_conflict_do_nothing(index_elements=["row_hash"])


def ingest_file(
    session: Session,
    path: str | Path,
    format_name: str = "auto",
    *,
    progress: Callable[[int], None] | None = None,
) -> FileResult:
    """Load one run log into the database (SPEC §4 runs), in the caller's transaction.

    Args:
        session: the session whose transaction the file lands in.
        path: the export (CSV or xlsx).
        format_name: ``auto`` (recognise from the header), ``wmc``, ``uipath``,
            ``pad`` or ``generic``.
        progress: called with the number of rows read after each batch.

    Raises:
        InputFileError: the file cannot be read as a whole (missing, unknown
            layout, undecodable, broken CSV); nothing of it is kept.
    """
    with open_log(path) as log:
        run_format = choose_format(log.path, log.header, format_name)
        parse = run_format.bind(log.path, log.header)
        connection = session.connection()
        dialect = connection.dialect.name
        if dialect == "sqlite":
            # A bigger page cache keeps the unique index of a large table in memory.
            connection.exec_driver_sql("PRAGMA cache_size = -131072")
        import_id = session.execute(
            insert(RpaImport)
            .values(file=str(path), format=run_format.name, encoding=log.encoding)
            .returning(RpaImport.id)
        ).scalar_one()
        known = set(session.scalars(select(RpaTaskScenario.scenario_key)))
        runs_out = _BulkWriter(session, _upsert_runs(dialect), _RUN_COLUMNS)
        rejects_out = _BulkWriter(session, _insert_rejects(dialect), _REJECT_COLUMNS)
        normalise = _Normaliser(run_format, sqlite=dialect == "sqlite")
        file_name = str(path)[:500]
        name = run_format.name
        width = len(log.header)
        result = FileResult(file=str(path), format=name, encoding=log.encoding)
        unmatched: Counter[str] = Counter()
        shown: dict[str, str] = {}
        runs: list[tuple[Any, ...]] = []
        rejects: list[tuple[Any, ...]] = []
        rows = 0

        def reject(line: int, cells: list[str], reason: str) -> None:
            cells = cells[:width]
            digest = hashlib.sha256(
                "\x1f".join((name, *cells)).encode("utf-8", "surrogatepass")
            ).hexdigest()
            raw = ",".join(cells)[:2000]
            rejects.append((import_id, file_name, line, name, reason, raw, digest))

        for line, cells in log.rows:
            if len(cells) != width:
                if not any(c.strip() for c in cells):
                    continue
                rows += 1
                reject(line, cells, f"列の数が見出しと違います（{len(cells)}列、見出し{width}列）")
                continue
            cells.append("")
            try:
                run = normalise(parse(cells), cells)
            except RowError as exc:
                if not any(c.strip() for c in cells):
                    continue
                rows += 1
                reject(line, cells, str(exc))
                continue
            rows += 1
            if run[2] not in known:
                unmatched[run[2]] += 1
                shown.setdefault(run[2], run[1])
            runs.append((import_id, line, name, *run))
            if len(runs) >= BATCH_ROWS:
                runs_out.write(runs)
                runs.clear()
                if progress is not None:
                    progress(rows)
        runs_out.write(runs)
        rejects_out.write(rejects)

    result.rows = rows
    result.rejected = len(rejects)
    result.runs_added = session.execute(
        select(func.count()).select_from(RpaRun).where(RpaRun.import_id == import_id)
    ).scalar_one()
    result.runs_updated = session.execute(
        select(func.count())
        .select_from(RpaRun)
        .where(RpaRun.updated_import_id == import_id, RpaRun.import_id != import_id)
    ).scalar_one()
    result.duplicates = rows - result.rejected - result.runs_added - result.runs_updated
    result.unmatched = sum(unmatched.values())
    result.unmatched_scenarios = [
        ScenarioCount(shown[key], count) for key, count in unmatched.most_common()
    ]
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
