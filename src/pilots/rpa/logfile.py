"""Reading a bot run log file: its encoding, its header, its records, and the parser process.

* The encoding is detected: UTF-8 (with or without BOM), else CP932 (MS932,
  WinActor Manager's default). CSV files are streamed record by record, so a
  file of a million runs never sits in memory; xlsx is read too. The format
  is recognised from the header (:func:`pilots.rpa.formats.choose_format`).
* A large CSV file (:data:`PARALLEL_BYTES`) is parsed in a second process
  (:func:`in_child`) while this one stores the runs, batch by batch: the two
  halves of the work cost about the same, so a two-core PC ingests it in
  about half the time.

What a record becomes is :mod:`pilots.rpa.normalise`'s job; storing it is
:mod:`pilots.rpa.ingest`'s.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gc
import io
import multiprocessing
import os
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pilots.errors import InputFileError, TruncatedRowError
from pilots.processes import end_with_parent, portable_error
from pilots.rpa.formats import RowError, RunFormat, choose_format
from pilots.tabular import EXCEL_SUFFIXES, as_text, read_table

_SNIFF_BYTES = 1 << 20


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


PARALLEL_BYTES = 8 << 20
"""A CSV log this large is read and parsed in a second process while this one stores it."""


def parse_in_child(log: LogFile) -> bool:
    """True when ``log`` is worth parsing in a second process, and forking is safe here."""
    # Forking is safe only where no other thread may hold a lock the child
    # would need (a web server's threads): the command line, the benchmarks.
    return (
        log.encoding is not None
        and log.path.stat().st_size >= PARALLEL_BYTES
        and (os.cpu_count() or 1) > 1
        and threading.active_count() == 1
        and "fork" in multiprocessing.get_all_start_methods()
    )


class BatchParser(Protocol):
    """What the parser process runs: batches of rows, then totals to hand back.

    ``totals`` must be picklable; once :meth:`batches` is exhausted in the
    child, the parent's parser gets the child's ``totals``.
    """

    totals: Any

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        """The rows to store, a batch at a time."""
        ...


@dataclass
class _ParserDone:
    totals: Any


@dataclass
class _ParserFailed:
    error: BaseException


def _parse_and_send(parser: BatchParser, sender: Any, receiver: Any, parent: int) -> None:
    """The parser process: send each batch of runs, then the totals (or the error).

    It closes the pipe's read end it inherited and ends with its parent: a
    parser whose storing process was killed must not live on, blocked on a
    pipe it holds itself, with the run log and the database files open.
    """
    receiver.close()
    end_with_parent(parent)
    gc.disable()
    try:
        for batch in parser.batches():
            sender.send(batch)
        sender.send(_ParserDone(parser.totals))
    except BaseException as exc:  # handed to the storing process, which raises it
        with contextlib.suppress(Exception):  # else the storing process is gone
            sender.send(_ParserFailed(portable_error(exc)))
    finally:
        sender.close()


def in_child(parser: BatchParser) -> Generator[list[tuple[Any, ...]], None, None]:
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
                parser.totals = message.totals
                return
    finally:
        receiver.close()  # a child still sending gets a broken pipe and ends
        if child.is_alive():
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
        child.join()
