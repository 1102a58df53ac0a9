"""Ingesting bot run logs exactly as the vendors export them (``pilots rpa ingest``).

How a file is read:

* The encoding is detected: UTF-8 (with or without BOM), else CP932 (MS932,
  WinActor Manager's default). The format is recognised from the header
  (:func:`pilots.rpa.formats.choose_format`). CSV files are streamed row by
  row, so a file of a million runs never sits in memory; xlsx is read too.
  A large CSV file (:data:`PARALLEL_BYTES`) is parsed in a second process
  while this one stores the runs, batch by batch: the two halves of the work
  cost about the same, so a two-core PC ingests it in about half the time.
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
import contextlib
import csv
import ctypes
import gc
import hashlib
import io
import multiprocessing
import os
import pickle
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, literal_column, select, update
from sqlalchemy.orm import Session

from pilots.calendar import parse_datetime, to_japan_time
from pilots.errors import CalendarError, InputFileError, TruncatedRowError
from pilots.rpa.formats import OTHER, Layout, RowError, RunFormat, choose_format
from pilots.tables import RpaImport, RpaReject, RpaRun, RpaTaskScenario
from pilots.tabular import EXCEL_SUFFIXES, as_text, read_table
from pilots.text import normalize_name

BATCH_ROWS = 20_000
fromisoformat = datetime.fromisoformat
_SNIFF_BYTES = 1 << 20
# In the order a normalised row carries them (import_id and format are constants).
_RUN_COLUMNS: tuple[str, ...] = (
    "line",
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
    """An opened run log: its encoding, header and data rows.

    Rows come as ``(line, cells)``. For CSV the cells are the file's bytes
    seen as Latin-1 text: splitting needs no real decoding (in UTF-8 and CP932
    every byte of a multi-byte character is ≥ 0x40, so commas, quotes and line
    ends are never part of one), and :attr:`text` decodes just the cells the
    measurement reads — most of them ASCII, and the scenario names repeat.
    """

    path: Path
    encoding: str | None
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    text: Callable[[str], str]


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


def _csv_records(path: Path, lines: Iterator[bytes]) -> Iterator[tuple[int, list[str]]]:
    """Split CSV lines into records (RFC 4180), with the line each record starts on.

    A line without a quote is split on commas directly; a record with quotes
    goes through :mod:`csv`, joined with its following lines while a quoted
    field is still open (an odd number of quotes so far).

    Raises:
        TruncatedRowError: the file ends inside a quoted field (a cut-off
            download); what there is of the row comes with it.
    """
    number = 0
    pending: list[str] = []
    start = quotes = 0
    for raw in lines:
        number += 1
        text = raw.decode("latin-1")
        if pending:
            pending.append(text)
            quotes += text.count('"')
            if quotes % 2 == 0:
                for cells in csv.reader(io.StringIO("".join(pending), newline="")):
                    yield start, cells
                pending = []
            continue
        if '"' not in text:
            yield number, text.rstrip("\r\n").split(",")
            continue
        quotes = text.count('"')
        if quotes % 2 == 0:
            for cells in csv.reader(io.StringIO(text, newline="")):
                yield number, cells
        else:
            pending, start = [text], number
    if pending:  # a quote never closed: the file was cut off inside this record
        cells = next(csv.reader(io.StringIO("".join(pending), newline="")), [])
        raise TruncatedRowError(path, start, cells)


def _decoder(encoding: str) -> Callable[[str], str]:
    codec = "utf-8" if encoding == "utf-8-sig" else encoding

    def text(cell: str) -> str:
        if cell.isascii():
            return cell
        try:
            return cell.encode("latin-1").decode(codec)
        except UnicodeDecodeError:
            raise RowError(f"{encoding} として読めない文字があります") from None

    return text


def _same(cell: str) -> str:
    return cell


@contextmanager
def open_log(path: str | Path) -> Iterator[LogFile]:
    """Open a run log (CSV in UTF-8 / UTF-8 with BOM / CP932, or xlsx) for streaming.

    The header is the first non-blank row. Rows come with their 1-based line
    number (the line a CSV record starts on; the row of a sheet).

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

        yield LogFile(path, None, table.header, sheet_rows(), _same)
        return
    encoding = detect_encoding(path)
    text = _decoder(encoding)
    with path.open("rb") as raw:
        rows = _csv_records(path, iter(raw))
        header: list[str] | None = None
        for _line, cells in rows:
            if any(c.strip() for c in cells):
                try:
                    header = [text(c).strip().lstrip("\ufeff") for c in cells]
                except RowError as exc:
                    raise InputFileError(path, str(exc), line=_line) from None
                break
        if header is None:
            raise InputFileError(path, "データがありません（空のファイルです）")
        yield LogFile(path, encoding, header, rows, text)


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


def _getter(columns: tuple[int, ...]) -> Callable[[list[str]], str]:
    """Read a field: the first non-empty of its columns ('' if the file has none)."""
    if not columns:
        return lambda cells: ""
    if len(columns) == 1:
        return itemgetter(columns[0])
    if len(columns) == 2:
        first, second = columns
        return lambda cells: cells[first] or cells[second]
    return lambda cells: next((cells[i] for i in columns if cells[i]), "")


def _joiner(columns: tuple[int, ...]) -> Callable[[list[str]], str]:
    """Read a field made of several columns, joined with a space ('' when all are empty)."""
    if len(columns) <= 1:
        return _getter(columns)
    if len(columns) == 2:
        first, second = columns
        return lambda cells: (
            f"{cells[first].strip()} {cells[second].strip()}".strip()
            if cells[first] or cells[second]
            else ""
        )
    return lambda cells: " ".join(c for c in (cells[i].strip() for i in columns) if c)


class _Normaliser:
    """Turns a row into the stored run: scenario key, status class, dates, cases, key.

    Called once per row of a million-row file, so the common case (an
    ASCII timestamp ``fromisoformat`` reads, a scenario and status already
    seen) takes no more than a few dictionary lookups.
    """

    def __init__(
        self, run_format: RunFormat, layout: Layout, text: Callable[[str], str], *, sqlite: bool
    ) -> None:
        self.format = run_format
        self.text = text
        self.sqlite = sqlite
        self.scenario = _getter(layout.scenario)
        self.status = _getter(layout.status)
        self.started = _getter(layout.started)
        self.ended = _getter(layout.ended)
        self.created = _getter(layout.created)
        self.cases = _getter(layout.cases)
        self.robot = _getter(layout.robot)
        self.run_id = _getter(layout.run_id)
        self.message = _joiner(layout.message)
        self.scenarios: dict[str, tuple[str | None, str]] = {}
        self.statuses: dict[str, tuple[str, str, bool]] = {}
        self.robots: dict[str, str] = {}

    def _scenario(self, cell: str) -> tuple[str | None, str]:
        written = self.text(cell).strip()
        if not written:
            raise RowError("シナリオ名が空です")
        key = normalize_name(written)[:300]
        # The name as written is kept only where it differs from its key.
        entry = (None if written == key else written[:300], key)
        self.scenarios[cell] = entry
        return entry

    def _status(self, cell: str) -> tuple[str, str, bool]:
        raw = self.text(cell).strip()
        if not raw:
            raise RowError("状態が空です")
        cls, final = self.format.classify(raw)
        entry = (raw[:64], cls, final)
        self.statuses[cell] = entry
        return entry

    def _time(self, cell: str, label: str) -> tuple[datetime | None, Any]:
        if not cell:
            return None, None
        iso = cell.replace("/", "-")
        try:
            value = datetime.fromisoformat(iso)
        except ValueError:
            text = self.text(cell).strip()
            if not text:
                return None, None
            try:
                value = parse_datetime(text)
            except CalendarError as exc:
                raise RowError(f"{label}が読めません（{exc}）") from None
            iso = ""
        if value.tzinfo is not None:
            value, iso = to_japan_time(value), ""
        if not self.sqlite:
            return value, value
        # Stored as SQLAlchemy's SQLite DATETIME text; the common form already is.
        return value, iso if len(iso) == 19 and iso[10] == " " else value.isoformat(" ")

    def __call__(self, line: int, cells: list[str]) -> tuple[Any, ...]:
        """The stored run of a row, in the order of ``_RUN_COLUMNS``.

        Raises:
            RowError: the row cannot be read (its reason becomes the reject's).
        """
        cell = self.scenario(cells)
        scenario = self.scenarios.get(cell) or self._scenario(cell)
        cell = self.status(cells)
        status = self.statuses.get(cell) or self._status(cell)
        sqlite = self.sqlite
        # Fast path inline: the common "2019/04/01 09:00:00" (or ISO) text is
        # already what SQLite stores; anything else goes through _time.
        cell = self.started(cells)
        started: datetime | None = None
        started_db: Any = None
        if cell:
            iso = cell.replace("/", "-")
            try:
                started = fromisoformat(iso)
                if started.tzinfo is not None or len(iso) != 19 or iso[10] != " ":
                    raise ValueError
                started_db = iso if sqlite else started
            except ValueError:
                started, started_db = self._time(cell, "開始日時")
        cell = self.ended(cells)
        ended: datetime | None = None
        ended_db: Any = None
        if cell:
            iso = cell.replace("/", "-")
            try:
                ended = fromisoformat(iso)
                if ended.tzinfo is not None or len(iso) != 19 or iso[10] != " ":
                    raise ValueError
                ended_db = iso if sqlite else ended
            except ValueError:
                ended, ended_db = self._time(cell, "終了日時")
        if started is not None:
            anchor: datetime | None = started
            if ended is not None and ended < started:
                raise RowError(
                    f"終了日時 {ended.isoformat(' ')} が"
                    f"開始日時 {started.isoformat(' ')} より前です"
                )
        else:
            anchor = ended or self._time(self.created(cells), "作成日時")[0]
        if anchor is not None:
            run_day: int | None = anchor.year * 10000 + anchor.month * 100 + anchor.day
        elif status[1] == OTHER:
            run_day = None  # waiting, never started: listed, in no period
        else:
            raise RowError("開始日時も終了日時もありません")
        cell = self.cases(cells)
        cases = _cases(self.text(cell)) if cell else None
        cell = self.robot(cells)
        robot = self.robots.get(cell)
        if robot is None:
            robot = self.robots[cell] = self.text(cell).strip()[:200]
        message = self.message(cells)
        if message:
            message = self.text(message.strip())[:2000]
        run_id = self.run_id(cells)
        if not run_id.isascii():
            run_id = self.text(run_id)
        run_id = run_id.strip()
        if not run_id or len(run_id) > 100:
            # No id of its own: the same run in another export has the same
            # scenario, start and robot (or, never started, the same cells).
            identity = (
                f"{scenario[1]}\x1f{started.isoformat()}\x1f{robot}"
                if started is not None
                else "\x1f".join(cells)
            )
            run_id = "#" + hashlib.sha1(identity.encode("utf-8", "surrogatepass")).hexdigest()
        return (
            line,
            run_id,
            scenario[0],
            scenario[1],
            status[1],
            status[0],
            status[2],
            started_db,
            ended_db,
            run_day,
            cases,
            robot,
            message,
        )


def _cases(text: str) -> int | None:
    text = normalize_name(text).replace(",", "")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise RowError(f"件数が数値ではありません: {text}") from None
    if not number.is_integer() or number < 0:
        raise RowError(f"件数は0以上の整数にしてください: {text}")
    return int(number)


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
    values: dict[str, Any] = {c: bindparam(c) for c in _RUN_COLUMNS}
    # The same for every row of the file: written into the statement, not bound per row.
    assert format_name.isidentifier()
    values["import_id"] = literal_column(str(int(import_id)))
    values["format"] = literal_column(f"'{format_name}'")
    stmt = _dialect_insert(dialect, table).values(values)
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


def reject_key(format_name: str, file_name: str, line: int, raw: str) -> str:
    """What identifies a stored reject: the file's name, the line, and the row as it was.

    Every rejected row is kept (SPEC §4), identical rows in one file or in two
    included; the same file ingested again (from any folder, or uploaded
    again) matches its rejects and adds none.
    """
    joined = "\x1f".join((format_name, file_name, str(line), raw))
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


class _Parser:
    """Reads a log's rows into stored runs, batch by batch, keeping the rejects aside.

    After :meth:`batches` is exhausted: ``rows`` (data rows read), ``rejects``
    (rows in ``_REJECT_COLUMNS`` order), ``unmatched`` (runs per scenario key
    the catalog does not know) and ``shown`` (how each of those keys was written).
    """

    def __init__(
        self,
        log: LogFile,
        normalise: _Normaliser,
        known: set[str],
        *,
        import_id: int,
        format_name: str,
        file_name: str,
    ) -> None:
        self.log = log
        self.normalise = normalise
        self.known = known
        self.import_id = import_id
        self.format_name = format_name
        self.file_name = file_name
        self.rows = 0
        self.rejects: list[tuple[Any, ...]] = []
        self.unmatched: Counter[str] = Counter()
        self.shown: dict[str, str] = {}

    def _reject(self, line: int, cells: list[str], width: int, reason: str) -> None:
        log, name = self.log, self.format_name
        raw = ",".join(cells[:width])
        if log.encoding is not None:
            raw = raw.encode("latin-1").decode(log.encoding, errors="replace")
        raw = raw[:2000]
        digest = reject_key(name, self.file_name, line, raw)
        path = str(log.path)[:500]
        self.rejects.append((self.import_id, path, line, name, reason, raw, digest))

    def batches(self) -> Generator[list[tuple[Any, ...]], None, None]:
        """The runs of the file in order, ``BATCH_ROWS`` at a time."""
        normalise, known, unmatched, shown = self.normalise, self.known, self.unmatched, self.shown
        width = len(self.log.header)
        runs: list[tuple[Any, ...]] = []
        rows = 0
        try:
            for line, cells in self.log.rows:
                if len(cells) != width:
                    if not any(c.strip() for c in cells):
                        continue
                    rows += 1
                    reason = f"列の数が見出しと違います（{len(cells)}列、見出し{width}列）"
                    self._reject(line, cells, width, reason)
                    continue
                try:
                    run = normalise(line, cells)
                except RowError as exc:
                    if not any(c.strip() for c in cells):
                        continue
                    rows += 1
                    self._reject(line, cells, width, str(exc))
                    continue
                rows += 1
                key = run[3]
                if key not in known:
                    unmatched[key] += 1
                    if key not in shown:
                        shown[key] = run[2] or key
                runs.append(run)
                if len(runs) >= BATCH_ROWS:
                    self.rows = rows
                    yield runs
                    runs = []
        except TruncatedRowError as exc:  # the file's last row, cut off
            rows += 1
            self._reject(exc.record_line, exc.cells, width, exc.reason)
        self.rows = rows
        if runs:
            yield runs


PARALLEL_BYTES = 8 << 20
"""A CSV log this large is read and parsed in a second process while this one stores it."""


def _parallel(log: LogFile) -> bool:
    # Forking is safe only where no other thread may hold a lock the child
    # would need (a web server's threads): the command line, the benchmarks.
    return (
        log.encoding is not None
        and log.path.stat().st_size >= PARALLEL_BYTES
        and (os.cpu_count() or 1) > 1
        and threading.active_count() == 1
        and "fork" in multiprocessing.get_all_start_methods()
    )


@dataclass
class _ParserDone:
    rows: int
    rejects: list[tuple[Any, ...]]
    unmatched: Counter[str]
    shown: dict[str, str]


@dataclass
class _ParserFailed:
    error: BaseException


def _parse_and_send(parser: _Parser, sender: Any, receiver: Any, parent: int) -> None:
    """The parser process: send each batch of runs, then the totals (or the error).

    It closes the pipe's read end it inherited and ends with its parent: a
    parser whose storing process was killed must not live on, blocked on a
    pipe it holds itself, with the run log and the database files open.
    """
    receiver.close()
    _end_with_parent(parent)
    gc.disable()
    try:
        for batch in parser.batches():
            sender.send(batch)
        sender.send(_ParserDone(parser.rows, parser.rejects, parser.unmatched, parser.shown))
    except BaseException as exc:  # handed to the storing process, which raises it
        try:
            pickle.loads(pickle.dumps(exc))
            sender.send(_ParserFailed(exc))
        except Exception:
            with contextlib.suppress(Exception):  # else the storing process is gone
                sender.send(_ParserFailed(RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        sender.close()


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _end_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), or end now if it has.

    Elsewhere the closed read end does it: once the parent is gone, the next
    send fails with a broken pipe and the parser ends.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


def _in_child(parser: _Parser) -> Generator[list[tuple[Any, ...]], None, None]:
    """The parser's batches, read and parsed in a forked process.

    Reading, splitting and normalising a row costs about as much as storing
    it, so on a machine with two cores this process only stores while a
    second one parses. The child writes nothing: the database is touched by
    this process alone, in its transaction, and the child ends with this
    process however it ends (see :func:`_parse_and_send`).
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_parse_and_send,
        args=(parser, sender, receiver, os.getpid()),
        name="pilots-rpa-parser",
        daemon=True,
    )
    child.start()
    sender.close()
    try:
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                raise RuntimeError("the run log parser process ended unexpectedly") from None
            if isinstance(message, list):
                yield message
            elif isinstance(message, _ParserFailed):
                raise message.error
            else:
                parser.rows, parser.rejects = message.rows, message.rejects
                parser.unmatched, parser.shown = message.unmatched, message.shown
                return
    finally:
        receiver.close()  # a child still sending gets a broken pipe and ends
        if child.is_alive():
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
        child.join()


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
        normalise = _Normaliser(run_format, layout, log.text, sqlite=dialect == "sqlite")
        name = run_format.name
        parser = _Parser(
            log,
            normalise,
            known,
            import_id=import_id,
            format_name=name,
            file_name=file_name if file_name is not None else log.path.name,
        )
        runs = _BulkStatement(session, _upsert_runs(dialect, import_id, name), _RUN_COLUMNS)
        # The loop makes no reference cycles; the cyclic collector would only
        # rescan the batches waiting to be stored, again and again.
        collecting = gc.isenabled()
        gc.disable()
        batches = _in_child(parser) if _parallel(log) else parser.batches()
        try:
            for batch in batches:
                runs.write(batch)
        finally:
            batches.close()  # on an error: stop the parser process now
            if collecting:
                gc.enable()
        if parser.rejects:
            _BulkStatement(session, _insert_rejects(dialect), _REJECT_COLUMNS).write(parser.rejects)
        rows, rejects, unmatched, shown = (
            parser.rows,
            parser.rejects,
            parser.unmatched,
            parser.shown,
        )

    result = FileResult(file=str(path), format=name, encoding=log.encoding)
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
