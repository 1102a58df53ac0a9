"""Reading the tables users bring: CSV (UTF-8, UTF-8 with BOM, CP932) and xlsx.

Every import (departments, baselines, usage reports, surveys, task catalogs)
reads through :func:`read_table`, which finds the header, maps Japanese or
English column names onto the names the code uses, and yields each data row
with its line number so that an error can name it.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pilots.errors import InputFileError, TruncatedRowError
from pilots.text import normalize_name

# Tried in this order; CP932 last because nearly any byte string decodes as it.
ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp932")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class Column:
    """A column the code expects, and the header texts that name it.

    Attributes:
        name: the name used in code (``department``).
        aliases: other headers accepted, e.g. the Japanese one (``所属``).
        required: a file without this column is refused.
    """

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True

    def matches(self, header: str) -> bool:
        """True when a header cell names this column (compared after NFKC, case-blind)."""
        key = _header_key(header)
        return key in {_header_key(n) for n in (self.name, *self.aliases)}


def _header_key(text: str) -> str:
    return normalize_name(text).replace(" ", "").lower()


@dataclass(frozen=True)
class Row:
    """One data row: its line (CSV) or row (xlsx) number and its cells by column name."""

    line: int
    values: dict[str, Any]
    raw: tuple[Any, ...] = field(default=(), compare=False)

    def text(self, name: str) -> str:
        """The cell as trimmed text ('' for a missing or empty cell)."""
        return as_text(self.values.get(name))

    def number(
        self,
        path: str | Path,
        name: str,
        label: str,
        *,
        positive: bool = False,
        blank: float | None = None,
    ) -> float:
        """The cell as a number ≥ 0 (> 0 with ``positive``); a blank cell gives ``blank``.

        Raises:
            InputFileError: the cell is blank (and ``blank`` is None), not a number,
                negative, or zero where ``positive``; it names the row and column.
        """
        if self.text(name) == "":
            if blank is not None:
                return blank
            raise InputFileError(path, f"{label}が空です", line=self.line, column=label)
        try:
            value = parse_number(self.values.get(name), label)
        except ValueError as exc:
            raise InputFileError(path, str(exc), line=self.line, column=label) from None
        if value < 0 or (positive and value == 0):
            bound = "0より大きい数値" if positive else "0以上の数値"
            raise InputFileError(
                path,
                f"{label}は{bound}にしてください: {self.text(name)}",
                line=self.line,
                column=label,
            )
        return value


@dataclass(frozen=True)
class ImportReject:
    """A row of an imported file that was not loaded.

    Attributes:
        line: the row's line (CSV) or row (xlsx) number.
        reason: why, in Japanese.
        values: the row's cells as text, as the file had them.
    """

    line: int
    reason: str
    values: list[str]


@dataclass
class ImportCounts:
    """What an import did with a file's rows (the fields every import result starts with).

    Attributes:
        file: the file read.
        encoding: the CSV encoding detected (None for xlsx).
        rows: data rows read (blank lines not counted).
        added / updated / unchanged: records the file added, changed, or had as they were.
    """

    file: str
    encoding: str | None
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0


_T = TypeVar("_T")


def until_truncated(rows: Iterable[_T], rejected: list[ImportReject]) -> Iterator[_T]:
    """The rows of a table; a cut-off last row ends them and is added to ``rejected``.

    For the imports that skip a bad row and load the rest: a truncated
    download's last row (:class:`TruncatedRowError`) is one more such row.
    """
    try:
        yield from rows
    except TruncatedRowError as exc:
        values = [as_text(c) for c in exc.cells]
        rejected.append(ImportReject(exc.record_line, exc.reason, values))


@dataclass
class Table:
    """An opened table: where it came from, how it was decoded, its header and rows."""

    path: Path
    encoding: str | None
    header: list[str]
    rows: Iterator[tuple[int, tuple[Any, ...]]]

    def mapped(self, columns: Sequence[Column]) -> Iterator[Row]:
        """Yield rows keyed by column name; refuse the file if a required column is missing.

        Raises:
            InputFileError: a required column is absent (the message lists the
                accepted header names) or named twice.
        """
        index = map_columns(self.path, self.header, columns)
        for line, cells in self.rows:
            if not any(c not in (None, "") and str(c).strip() for c in cells):
                continue  # blank line
            values = {name: (cells[i] if i < len(cells) else None) for name, i in index.items()}
            yield Row(line, values, cells)


def map_columns(path: Path, header: Sequence[str], columns: Sequence[Column]) -> dict[str, int]:
    """Map each expected column to its position in ``header``.

    Raises:
        InputFileError: a required column is missing or a column appears twice.
    """
    index: dict[str, int] = {}
    for column in columns:
        found = [i for i, h in enumerate(header) if h is not None and column.matches(str(h))]
        if len(found) > 1:
            raise InputFileError(
                path,
                f"列「{column.name}」に当たる見出しが複数あります: "
                + ", ".join(str(header[i]) for i in found),
            )
        if found:
            index[column.name] = found[0]
        elif column.required:
            names = " / ".join((column.name, *column.aliases))
            raise InputFileError(path, f"必要な列がありません: {names}", line=1)
    return index


def decode(path: Path, data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode CSV bytes: the given encoding, else UTF-8 (with or without BOM), else CP932.

    Returns:
        The text and the name of the encoding that decoded it.

    Raises:
        InputFileError: no encoding decodes the bytes.
    """
    candidates = (encoding,) if encoding else ENCODINGS
    for enc in candidates:
        try:
            return data.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    raise InputFileError(
        path, "文字コードを判別できません（UTF-8、BOM付きUTF-8、Shift_JIS(CP932)に対応）"
    )


def read_text(path: Path, what: str) -> str:
    """A small text file (a word list) as text, decoded as :func:`decode` decodes.

    Raises:
        InputFileError: the file cannot be read (the message names it as ``what``)
            or decoded.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(path, f"{what}を読めません（{exc.strerror or exc}）") from exc
    return decode(path, data)[0]


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    header_hint: Sequence[Column] = (),
) -> Table:
    """Open a CSV or xlsx file as a :class:`Table`.

    Args:
        path: the file; ``.xlsx``/``.xlsm`` are read as Excel, anything else as CSV.
        encoding: force a CSV encoding instead of detecting it.
        sheet: the Excel sheet to read (default: the first).
        header_hint: when given, the header is the first row (within the first
            20) that names every required column; rows above it (titles, notes)
            are skipped. Without it the first non-blank row is the header.

    Raises:
        InputFileError: the file is missing, empty, not a table, or undecodable.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "ファイルがありません")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        rows, enc = _excel_rows(path, sheet), None
    else:
        text, enc = decode(path, path.read_bytes(), encoding)
        rows = _csv_rows(path, text)
    header = _find_header(path, rows, header_hint)
    return Table(path, enc, [("" if h is None else str(h).strip()) for h in header], rows)


def _find_header(
    path: Path, rows: Iterator[tuple[int, tuple[Any, ...]]], hint: Sequence[Column]
) -> tuple[Any, ...]:
    required = [c for c in hint if c.required]
    for seen, (_line, cells) in enumerate(rows):
        if not any(c not in (None, "") for c in cells):
            continue
        if not required:
            return cells
        headers = [str(c) for c in cells if c is not None]
        if all(any(col.matches(h) for h in headers) for col in required):
            return cells
        if seen >= 20:
            break
    if required:
        names = ", ".join(" / ".join((c.name, *c.aliases)) for c in required)
        raise InputFileError(path, f"見出し行が見つかりません。必要な列: {names}")
    raise InputFileError(path, "データがありません（空のファイルです）")


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """The CSV records with the line each starts on.

    Each record is handed on once the next one is read, so that the last one
    can be checked: a file that ends inside a quoted value was cut off, and
    its last row is not a row (:class:`TruncatedRowError`), whatever :mod:`csv`
    makes of it.

    Raises:
        InputFileError: the text is no CSV; a TruncatedRowError for a cut-off last row.
    """
    consumed: list[str] = []  # the lines of the record being read

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    reader = csv.reader(lines())
    start = 1
    held: tuple[int, tuple[str, ...]] | None = None
    record: list[str] = []
    try:
        for cells in reader:
            if held is not None:
                yield held
            held, record, consumed = (start, tuple(cells)), consumed, []
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputFileError(path, f"CSVとして読めません: {exc}", line=start) from None
    if held is not None:
        if ends_inside_quotes("".join(record)):
            raise TruncatedRowError(path, held[0], held[1])
        yield held


def ends_inside_quotes(record: str) -> bool:
    """Whether CSV text ends inside a quoted value, as :mod:`csv` (excel dialect) reads it."""
    start, unquoted, quoted, quote_in_quoted = range(4)
    state = start
    for char in record:
        if state == quoted:
            if char == '"':
                state = quote_in_quoted
        elif state == quote_in_quoted:
            # "" is a quote inside the value; anything else closes it.
            state = quoted if char == '"' else start if char in ",\r\n" else unquoted
        elif char == '"' and state == start:
            state = quoted
        else:
            state = start if char in ",\r\n" else unquoted
    return state == quoted


def _excel_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, tuple[Any, ...]]]:
    from zipfile import BadZipFile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputFileError(path, f"Excelファイルとして開けません（{exc}）") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputFileError(
                path, f"シート「{sheet}」がありません（{', '.join(book.sheetnames)}）"
            )
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        for number, cells in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, tuple(_cell(c) for c in cells)
    finally:
        book.close()


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, datetime) and value.hour == value.minute == value.second == 0:
        return value.date()
    return value


def parse_number(value: Any, label: str) -> float:
    """A finite number from a cell: a number, or text such as ``９０``, ``1,234`` or `` 12 ``.

    Raises:
        ValueError: the cell is no finite number; the message names ``label``.
    """
    if isinstance(value, bool):
        raise ValueError(f"{label}が数値ではありません: {value}")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = normalize_name(as_text(value)).replace(",", "").replace(" ", "")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{label}が数値ではありません: {as_text(value)}") from None
    if not math.isfinite(number):
        raise ValueError(f"{label}が数値ではありません: {as_text(value)}")
    return number


def as_text(value: Any) -> str:
    """A cell as trimmed text; whole floats lose their ``.0`` (Excel stores 101 as 101.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value).strip()
