"""Normalising a run log's rows into the runs SPEC §4 measures, and the rows it cannot read.

* Each run is keyed by its format and the export's id (WinActor タスクID,
  UiPath Key, flowsessionid), or a hash of its scenario, start time and robot
  where the export has no id (:meth:`Normaliser.__call__`).
* Its scenario is compared by its key (Unicode NFKC, trimmed); its status is
  classed ``success``, ``failure`` or ``other`` by its format, the raw value kept.
* Times are stored as naive Japan time: a time with ``Z`` or an offset
  (UiPath and Dataverse APIs) is converted, one without is Japan time already.
  A run belongs to the fiscal period of its start time; without one, its end
  time; without either, its creation time.
* A row that cannot be read — no scenario, no status, an impossible date, an
  end before the start, a negative item count, a wrong number of cells —
  becomes a reject with file, line and reason (:class:`Parser`), and the rest
  of the file goes on.

A million-row file passes through :meth:`Normaliser.__call__` and
:meth:`Parser.batches` a row at a time, so their common case is written out
inline: a few dictionary lookups and one ``fromisoformat`` per date (:meth:`Normaliser._time`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from pilots.calendar import parse_datetime, to_japan_time
from pilots.errors import CalendarError, TruncatedRowError
from pilots.rpa.formats import OTHER, Layout, RowError, RunFormat
from pilots.rpa.logfile import LogFile
from pilots.text import normalize_name

BATCH_ROWS = 20_000
# In the order a normalised row carries them (import_id and format are constants).
RUN_COLUMNS: tuple[str, ...] = (
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
    "error_code",
    "message",
    "retries",
)
REJECT_COLUMNS = ("import_id", "file", "line", "format", "reason", "raw", "row_hash")


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


class Normaliser:
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
        self.error_code = _getter(layout.error_code)
        self.retries = _getter(layout.retries)
        self.run_id = _getter(layout.run_id)
        self.message = _getter(layout.error)
        self.has_message = bool(layout.error)
        self.scenarios: dict[str, tuple[str | None, str]] = {}
        self.statuses: dict[str, tuple[str, str, bool]] = {}
        # Cells seen → value stored. A field the export has no column for reads
        # as '' and is stored as None.
        self.robots: dict[str, str | None] = {} if layout.robot else {"": None}
        self.codes: dict[str, str | None] = {} if layout.error_code else {"": None}
        self.retry_counts: dict[str, int | None] = {"": None}

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

    def _robot(self, cell: str) -> str:
        robot = self.robots[cell] = self.text(cell).strip()[:200]
        return robot

    def _code(self, cell: str) -> str:
        code = self.codes[cell] = self.text(cell).strip()[:200]
        return code

    def _retry_count(self, cell: str) -> int | None:
        # Only informative (the hours do not depend on it): a count that is not a
        # whole number ≥ 0 is stored as unknown rather than refusing the run.
        text = normalize_name(self.text(cell))
        count = int(text) if text.isdecimal() and text.isascii() else None
        self.retry_counts[cell] = count
        return count

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
        """The stored run of a row, in the order of ``RUN_COLUMNS``.

        Raises:
            RowError: the row cannot be read (its reason becomes the reject's).
        """
        cell = self.scenario(cells)
        scenario = self.scenarios.get(cell) or self._scenario(cell)
        cell = self.status(cells)
        status = self.statuses.get(cell) or self._status(cell)
        started, started_db = self._time(self.started(cells), "開始日時")
        ended, ended_db = self._time(self.ended(cells), "終了日時")
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
        try:
            robot = self.robots[cell]
        except KeyError:
            robot = self._robot(cell)
        cell = self.error_code(cells)
        try:
            code = self.codes[cell]
        except KeyError:
            code = self._code(cell)
        cell = self.retries(cells)
        try:
            retries = self.retry_counts[cell]
        except KeyError:
            retries = self._retry_count(cell)
        message: str | None = self.message(cells)
        if message:
            message = self.text(message.strip())[:2000]
        elif not self.has_message:
            message = None
        run_id = self.run_id(cells)
        if not run_id.isascii():
            run_id = self.text(run_id)
        run_id = run_id.strip()
        if not run_id or len(run_id) > 100:
            # No id of its own: the same run in another export has the same
            # scenario, start and robot (or, never started, the same cells).
            identity = (
                f"{scenario[1]}\x1f{started.isoformat()}\x1f{robot or ''}"
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
            code,
            message,
            retries,
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


def reject_key(format_name: str, file_name: str, line: int, raw: str) -> str:
    """What identifies a stored reject: the file's name, the line, and the row as it was.

    Every rejected row is kept (SPEC §4), identical rows in one file or in two
    included; the same file ingested again (from any folder, or uploaded
    again) matches its rejects and adds none.
    """
    joined = "\x1f".join((format_name, file_name, str(line), raw))
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class ParseTotals:
    """What a parser found besides the runs, once it has read the whole file.

    Attributes:
        rows: data rows read (runs and rejects; blank lines not counted).
        rejects: the rows it could not read, in ``REJECT_COLUMNS`` order.
        unmatched: runs per scenario key the catalog does not know.
        shown: how each of those keys was written.
    """

    rows: int = 0
    rejects: list[tuple[Any, ...]] = field(default_factory=list)
    unmatched: Counter[str] = field(default_factory=Counter)
    shown: dict[str, str] = field(default_factory=dict)


class Parser:
    """Reads a log's rows into stored runs, batch by batch, keeping the rejects aside.

    After :meth:`batches` is exhausted, :attr:`totals` holds the rest (a
    :class:`ParseTotals`); it is what the parser process hands back
    (:func:`pilots.rpa.logfile.in_child`).
    """

    def __init__(
        self,
        log: LogFile,
        normalise: Normaliser,
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
        self.totals = ParseTotals()

    def _reject(self, line: int, cells: list[str], width: int, reason: str) -> None:
        log, name = self.log, self.format_name
        raw = ",".join(cells[:width])
        if log.encoding is not None:
            raw = raw.encode("latin-1").decode(log.encoding, errors="replace")
        raw = raw[:2000]
        digest = reject_key(name, self.file_name, line, raw)
        path = str(log.path)[:500]
        self.totals.rejects.append((self.import_id, path, line, name, reason, raw, digest))

    def batches(self) -> Generator[list[tuple[Any, ...]], None, None]:
        """The runs of the file in order, ``BATCH_ROWS`` at a time."""
        totals = self.totals
        normalise, known = self.normalise, self.known
        unmatched, shown = totals.unmatched, totals.shown
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
                    totals.rows = rows
                    yield runs
                    runs = []
        except TruncatedRowError as exc:  # the file's last row, cut off
            rows += 1
            self._reject(exc.record_line, exc.cells, width, exc.reason)
        totals.rows = rows
        if runs:
            yield runs
