"""Departments' usage reports (``pilots asr import FILE``): meetings drafted by other services.

Each row of a report becomes a job with ``source = import`` (SPEC §3: same
record as a job transcribed here). Rows that cannot be read are rejected with
their line and reason and stored for the report's data-quality section; the
rest loads. A self-reported correction time is checked by the plausibility
rule of ``pilots asr correction`` (:func:`pilots.asr.corrections.correction_problem`);
its source is ``self-reported``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from pilots.asr.corrections import SELF_REPORTED, correction_problem
from pilots.calendar import parse_iso_or_japanese
from pilots.errors import CalendarError
from pilots.org import DepartmentResolver
from pilots.tables import AsrImportReject, AsrJob
from pilots.tabular import (
    Column,
    ImportCounts,
    ImportReject,
    as_text,
    parse_number,
    read_table,
    until_truncated,
)
from pilots.text import normalize_name

USAGE_COLUMNS = (
    Column("department", ("所属", "所属名")),
    Column("meeting_date", ("会議日", "開催日")),
    Column("audio_minutes", ("録音時間(分)", "録音時間")),
    Column("correction_minutes", ("修正時間(分)", "修正時間"), required=False),
    Column("title", ("会議名", "件名"), required=False),
)
AUDIO_LABEL = "録音時間(分)"
CORRECTION_LABEL = "修正時間(分)"


def _minutes(value: Any, label: str) -> float:
    """Minutes from a cell: a number, text such as ``９０``, ``1,234`` or ``90分``, or a duration.

    Excel durations (a time or timedelta cell) are read as minutes.

    Raises:
        ValueError: the cell is no finite number; the message names ``label``.
    """
    if isinstance(value, timedelta):
        return value.total_seconds() / 60
    if isinstance(value, time):
        return value.hour * 60 + value.minute + value.second / 60
    if isinstance(value, str):
        trimmed = normalize_name(value).removesuffix("分")
        try:
            return parse_number(trimmed, label)
        except ValueError:
            raise ValueError(f"{label}が数値ではありません: {as_text(value)}") from None
    return parse_number(value, label)


@dataclass
class UsageImportResult(ImportCounts):
    """What ``pilots asr import FILE`` did.

    Attributes:
        added: jobs created.
        updated: jobs already imported whose correction time (or title) the file changed.
        unchanged: rows already imported with nothing new.
        rejected: rows that could not be read, with line and reason.
        departments_created: departments the file named that were not known yet.
    """

    rejected: list[ImportReject] = field(default_factory=list)
    departments_created: list[str] = field(default_factory=list)


def _source_of(correction_minutes: float | None) -> str | None:
    # A department's report is what its clerks typed: a self-reported time (SPEC §3).
    return SELF_REPORTED if correction_minutes is not None else None


def usage_import_key(department_key: str, meeting_date: date, audio_minutes: float, n: int) -> str:
    """The identity of a reported meeting across imports (stored in ``asr_jobs.import_key``).

    SHA-256 of the department (NFKC, trimmed), the meeting date, the audio
    minutes (to 1/1000 minute) and ``n``, the row's occurrence among rows of the
    same file with those three values. The correction time and title are not
    part of it: a row reported again with its correction time filled in
    updates the job instead of adding one, and the same meeting listed in a
    monthly and in a cumulative report is counted once.
    """
    text = f"{department_key}\x1f{meeting_date.isoformat()}\x1f{audio_minutes:.3f}\x1f{n}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _UsageRow:
    line: int
    department: str
    meeting_date: date
    audio_minutes: float
    correction_minutes: float | None
    title: str


def _read_usage_row(
    line: int, values: dict[str, Any], max_ratio: float
) -> tuple[_UsageRow | None, str | None, tuple[Any, ...]]:
    """Parse one row: (row, None) or (None, reason), plus the identity triple when readable."""
    name = as_text(values.get("department"))
    identity: tuple[Any, ...] = ()
    if not name:
        return None, "所属が空です", identity
    raw_date = values.get("meeting_date")
    if as_text(raw_date) == "":
        return None, "会議日が空です", identity
    try:
        meeting_date = parse_iso_or_japanese(raw_date)
    except CalendarError as exc:
        return None, f"会議日: {exc}", identity
    raw_audio = values.get("audio_minutes")
    if as_text(raw_audio) == "":
        return None, f"{AUDIO_LABEL}が空です", identity
    try:
        audio = _minutes(raw_audio, AUDIO_LABEL)
    except ValueError as exc:
        return None, str(exc), identity
    if audio <= 0:
        return None, f"{AUDIO_LABEL}は0より大きい値にしてください: {as_text(raw_audio)}", identity
    identity = (normalize_name(name), meeting_date, round(audio, 3))
    correction: float | None = None
    raw_correction = values.get("correction_minutes")
    if as_text(raw_correction) != "":
        try:
            correction = _minutes(raw_correction, CORRECTION_LABEL)
        except ValueError as exc:
            return None, str(exc), identity
        problem = correction_problem(correction, audio, max_ratio)
        if problem is not None:
            return None, f"{CORRECTION_LABEL}: {problem}", identity
    title = as_text(values.get("title"))
    return _UsageRow(line, name, meeting_date, audio, correction, title), None, identity


def import_usage(
    session: Session,
    path: str | Path,
    *,
    max_correction_ratio: float,
    now: datetime | None = None,
) -> UsageImportResult:
    """Load a department's usage report: meetings transcribed with another service.

    Columns: ``department`` (所属), ``meeting_date`` (会議日; 2019/04/01,
    2019-04-01, R1.5.1, 令和元年5月1日 …), ``audio_minutes`` (録音時間(分)),
    ``correction_minutes`` (修正時間(分); blank = not reported) and optionally
    ``title`` (会議名). Each row becomes a job with ``source = import``.

    Rows that cannot be read are rejected with their line and reason while the
    rest loads; the rejects are stored (replacing the earlier rejects of the
    same file) for the report's data-quality section. Importing a file again
    adds nothing: rows are matched by :func:`usage_import_key`. A matched row
    whose correction time is now filled in or changed updates its job; a blank
    correction time never erases one reported before (by an earlier file or
    by ``pilots asr correction``). A correction time that
    :func:`correction_problem` refuses (above ``max_correction_ratio`` times
    the recording …) rejects its row.

    Raises:
        InputFileError: the file is missing, unreadable or lacks a required column.
    """
    table = read_table(path, header_hint=USAGE_COLUMNS)
    result = UsageImportResult(file=str(path), encoding=table.encoding)
    file_id = str(Path(path).resolve())  # a file is remembered by its absolute path
    resolver = DepartmentResolver(session, created_by="asr import")
    moment = now or datetime.now()
    occurrences: Counter[tuple[Any, ...]] = Counter()
    accepted: list[tuple[_UsageRow, str]] = []
    for row in until_truncated(table.mapped(USAGE_COLUMNS), result.rejected):
        parsed, reason, identity = _read_usage_row(row.line, row.values, max_correction_ratio)
        n = 0
        if identity:
            # Counted for rejected rows too, so that fixing a rejected row later
            # does not shift the identity of the rows after it.
            n = occurrences[identity]
            occurrences[identity] += 1
        if parsed is None:
            values = [as_text(v) for v in row.raw]
            result.rejected.append(ImportReject(row.line, reason or "", values))
            continue
        key = usage_import_key(identity[0], identity[1], identity[2], n)
        accepted.append((parsed, key))
    result.rows = len(accepted) + len(result.rejected)

    _store_usage(session, file_id, accepted, result, resolver, moment)
    result.departments_created = list(resolver.created)
    return result


_KEY_CHUNK = 500  # import keys per IN (...): well under every driver's parameter limit


def _store_usage(
    session: Session,
    file_id: str,
    accepted: list[tuple[_UsageRow, str]],
    result: UsageImportResult,
    resolver: DepartmentResolver,
    moment: datetime,
) -> None:
    """Add the new jobs, update the changed ones and replace the file's rejects.

    A report has thousands of rows, so the jobs go through Core statements in
    a few round trips (executemany), not the unit of work object by object.
    """
    jobs: Table = AsrJob.__table__  # type: ignore[assignment]
    rejects: Table = AsrImportReject.__table__  # type: ignore[assignment]
    # Pending ORM changes (a correction reported earlier in this transaction)
    # reach the database first, so the keys read below see them.
    session.flush()
    keys = [k for _, k in accepted]
    existing: dict[str, tuple[int, float | None, datetime | None, str]] = {}
    for chunk in range(0, len(keys), _KEY_CHUNK):
        for job_id, key, minutes, finished_at, title in session.execute(
            select(
                jobs.c.id,
                jobs.c.import_key,
                jobs.c.correction_minutes,
                jobs.c.finished_at,
                jobs.c.title,
            ).where(jobs.c.import_key.in_(keys[chunk : chunk + _KEY_CHUNK]))
        ):
            existing[key] = (job_id, minutes, finished_at, title)
    departments = resolver.resolve_all([u.department for u, k in accepted if k not in existing])
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    with session.no_autoflush:
        for usage, key in accepted:
            found = existing.get(key)
            if found is None:
                added.append(
                    {
                        "source": "import",
                        "department_id": departments[usage.department],
                        "title": usage.title,
                        "meeting_date": usage.meeting_date,
                        "audio_seconds": usage.audio_minutes * 60,
                        "outputs": "",
                        "import_key": key,
                        "import_file": file_id,
                        "import_line": usage.line,
                        "correction_minutes": usage.correction_minutes,
                        "correction_source": _source_of(usage.correction_minutes),
                        "finished_at": moment if usage.correction_minutes is not None else None,
                    }
                )
                continue
            job_id, minutes, finished_at, title = found
            new_minutes, new_at, new_title = minutes, finished_at, title
            if usage.correction_minutes is not None and minutes != usage.correction_minutes:
                new_minutes, new_at = usage.correction_minutes, moment
            if usage.title and title != usage.title:
                new_title = usage.title
            if (new_minutes, new_at, new_title) == (minutes, finished_at, title):
                result.unchanged += 1
                continue
            changed.append(
                {
                    "job_id": job_id,
                    "minutes": new_minutes,
                    "new_source": _source_of(new_minutes),
                    "at": new_at,
                    "new_title": new_title,
                }
            )
    if added:
        session.execute(insert(jobs), added)
    if changed:
        session.execute(
            update(jobs)
            .where(jobs.c.id == bindparam("job_id"))
            .values(
                correction_minutes=bindparam("minutes"),
                correction_source=bindparam("new_source"),
                finished_at=bindparam("at"),
                title=bindparam("new_title"),
            ),
            changed,
        )
        # Jobs this session loaded before are stale now: read them again when used.
        for row in changed:
            job = session.identity_map.get(identity_key(AsrJob, row["job_id"]))
            if job is not None:
                session.expire(job)
    result.added, result.updated = len(added), len(changed)
    session.execute(delete(rejects).where(rejects.c.import_file == file_id))
    if result.rejected:
        session.execute(
            insert(rejects),
            [
                {
                    "import_file": file_id,
                    "line": r.line,
                    "reason": r.reason,
                    "raw": json.dumps(r.values, ensure_ascii=False),
                }
                for r in result.rejected
            ],
        )
