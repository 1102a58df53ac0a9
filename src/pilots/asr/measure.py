"""Time saved by speech recognition (SPEC §3): baseline rates, correction times, usage imports.

The rules, exactly as SPEC §3 states them::

    saved(job)                = audio_hours × baseline_rate(department) − correction_hours
    departments_using         = distinct departments with ≥ 1 job in the period
    hours_saved               = Σ saved(job) over jobs in the period with a reported
                                correction time
    avg_hours_saved_per_month = hours_saved / months elapsed in the period (SPEC §2)

A job belongs to a period by its meeting date. A department without its own
baseline rate (従来作業時間) uses the organisation-wide default (the
``default_baseline_rate`` setting), and the summary names those departments.
Jobs without a reported correction time (修正時間) count as usage and are
listed; they are never given a guessed saving. Jobs without a department
(``pilots asr transcribe`` without ``--dept``) count as jobs, audio and — once
corrected — savings at the default rate, under 所属不明; they are not a
department, so ``departments_using`` does not count them. A job whose
recording held no speech (``no_speech``) is no meeting: it is left out of
every figure and listed as excluded with that reason. A self-reported
correction time must be finite, ≥ 0 and plausible for the recording's length
(:func:`correction_problem`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from pilots.calendar import (
    Period,
    fiscal_year_bounds,
    format_date,
    months,
    parse_iso_or_japanese,
)
from pilots.errors import CalendarError, ConfigError, InputFileError, NotFoundError
from pilots.org import UNKNOWN_DEPARTMENT, DepartmentResolver
from pilots.tables import AsrBaseline, AsrImportReject, AsrJob, Department, WebJob
from pilots.tabular import Column, ImportReject, as_text, parse_number, read_table, until_truncated
from pilots.text import normalize_name

BASELINE_COLUMNS = (
    Column("department", ("所属", "所属名")),
    Column(
        "baseline_hours_per_audio_hour",
        ("従来作業時間(時間/録音1時間)", "従来作業時間", "baseline_rate"),
    ),
)
USAGE_COLUMNS = (
    Column("department", ("所属", "所属名")),
    Column("meeting_date", ("会議日", "開催日")),
    Column("audio_minutes", ("録音時間(分)", "録音時間")),
    Column("correction_minutes", ("修正時間(分)", "修正時間"), required=False),
    Column("title", ("会議名", "件名"), required=False),
)
RATE_LABEL = "従来作業時間(時間/録音1時間)"
AUDIO_LABEL = "録音時間(分)"
CORRECTION_LABEL = "修正時間(分)"


# --- reading cells ---------------------------------------------------------


def _number(value: Any, label: str, *, minutes: bool = False) -> float:
    """A number from a cell: a number, or text such as ``９０`` or ``1,234`` (``90分`` for minutes).

    Excel durations (a time or timedelta cell) are read as minutes in minute columns.

    Raises:
        ValueError: the cell is no finite number; the message names ``label``.
    """
    if minutes and isinstance(value, timedelta):
        return value.total_seconds() / 60
    if minutes and isinstance(value, time):
        return value.hour * 60 + value.minute + value.second / 60
    if minutes and isinstance(value, str):
        trimmed = normalize_name(value).removesuffix("分")
        try:
            return parse_number(trimmed, label)
        except ValueError:
            raise ValueError(f"{label}が数値ではありません: {as_text(value)}") from None
    return parse_number(value, label)


def _blank(value: Any) -> bool:
    return as_text(value) == ""


def _file_id(path: str | Path) -> str:
    """The name a file is remembered by: its absolute path."""
    return str(Path(path).resolve())


# --- baseline rates ----------------------------------------------------------


@dataclass
class BaselineImportResult:
    """What ``pilots asr baseline FILE`` did.

    Attributes:
        file: the file read.
        encoding: the CSV encoding detected (None for xlsx).
        rows: data rows read.
        added / updated / unchanged: departments whose rate was new, changed, the same.
        departments_created: departments the file named that were not known yet.
    """

    file: str
    encoding: str | None
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    departments_created: list[str] = field(default_factory=list)


def import_baselines(session: Session, path: str | Path) -> BaselineImportResult:
    """Load per-department baseline rates (従来作業時間, hours per hour of audio).

    Columns: ``department`` (所属) and ``baseline_hours_per_audio_hour``
    (従来作業時間(時間/録音1時間)). A department's rate is replaced when the
    file names it again; departments the file does not name keep theirs. The
    file is reference data, so it loads all or nothing: any bad row refuses it.

    Raises:
        InputFileError: a missing column, an empty department, a department
            named twice, or a rate that is not a positive number.
    """
    table = read_table(path, header_hint=BASELINE_COLUMNS)
    result = BaselineImportResult(file=str(path), encoding=table.encoding)
    parsed: list[tuple[int, str, float]] = []
    seen: dict[str, int] = {}
    for row in table.mapped(BASELINE_COLUMNS):
        name = row.text("department")
        if not name:
            raise InputFileError(path, "所属が空です", line=row.line, column="所属")
        key = normalize_name(name)
        if key in seen:
            raise InputFileError(
                path, f"所属 {key} が{seen[key]}行目と重複しています", line=row.line
            )
        seen[key] = row.line
        raw = row.values.get("baseline_hours_per_audio_hour")
        if _blank(raw):
            raise InputFileError(path, "値が空です", line=row.line, column=RATE_LABEL)
        try:
            rate = _number(raw, RATE_LABEL)
        except ValueError as exc:
            raise InputFileError(path, str(exc), line=row.line, column=RATE_LABEL) from None
        if rate <= 0:
            raise InputFileError(
                path,
                f"0より大きい値にしてください: {as_text(raw)}",
                line=row.line,
                column=RATE_LABEL,
            )
        parsed.append((row.line, name, rate))
    if not parsed:
        raise InputFileError(path, "データ行がありません")

    resolver = DepartmentResolver(session, created_by="asr baseline")
    existing = {b.department_id: b for b in session.scalars(select(AsrBaseline))}
    source = _file_id(path)
    for line, name, rate in parsed:
        department = resolver(name)
        baseline = existing.get(department.id)
        if baseline is None:
            session.add(
                AsrBaseline(
                    department_id=department.id,
                    hours_per_audio_hour=rate,
                    source_file=source,
                    source_line=line,
                )
            )
            result.added += 1
        elif baseline.hours_per_audio_hour != rate:
            baseline.hours_per_audio_hour = rate
            baseline.source_file, baseline.source_line = source, line
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    result.rows = len(parsed)
    result.departments_created = list(resolver.created)
    return result


def _rates(session: Session) -> dict[int, float]:
    return {
        dept_id: rate
        for dept_id, rate in session.execute(
            select(AsrBaseline.department_id, AsrBaseline.hours_per_audio_hour)
        )
    }


# --- one job's figures --------------------------------------------------------


@dataclass(frozen=True)
class JobFigures:
    """One job and what it saved (SPEC §3), as ``pilots asr jobs`` lists it.

    Attributes:
        job_id: the job's number (``pilots asr correction JOB_ID MINUTES``).
        source: ``pilots`` (transcribed here) or ``import`` (reported by a department).
        department: the department's name, or None (shown as 所属不明).
        meeting_date: the meeting's date; it places the job in a period.
        title: the meeting's name, if known.
        audio_minutes / audio_hours: the recording's length.
        correction_minutes: the reported correction time (修正時間); None = not reported.
        baseline_rate: hours of work per hour of audio before adoption.
        rate_source: ``own`` (the department's rate) or ``default`` (the setting).
        baseline_hours: audio_hours × baseline_rate — the work before adoption.
        hours_saved: baseline_hours − correction hours; None until a correction
            time is reported (never guessed).
        no_speech: no speech was found in the recording; the job is not usage.
        web_jobs: the numbers the web UI's queue gave the recording's uploads
            (議事録作成 page), which this job logs.
    """

    job_id: int
    source: str
    department: str | None
    meeting_date: date
    title: str
    audio_minutes: float
    audio_hours: float
    correction_minutes: float | None
    baseline_rate: float
    rate_source: str
    baseline_hours: float
    hours_saved: float | None
    no_speech: bool = False
    web_jobs: list[int] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        """True when the job has a reported correction time and so counts as savings."""
        return self.correction_minutes is not None


def _figures(
    *,
    job_id: int,
    source: str,
    department: str | None,
    department_id: int | None,
    meeting_date: date,
    title: str,
    audio_seconds: float,
    correction_minutes: float | None,
    no_speech: bool,
    rates: dict[int, float],
    default_rate: float,
) -> JobFigures:
    own = rates.get(department_id) if department_id is not None else None
    rate = own if own is not None else default_rate
    audio_hours = audio_seconds / 3600
    baseline_hours = audio_hours * rate
    saved = None if correction_minutes is None else baseline_hours - correction_minutes / 60
    return JobFigures(
        job_id=job_id,
        source=source,
        department=department,
        meeting_date=meeting_date,
        title=title,
        audio_minutes=audio_seconds / 60,
        audio_hours=audio_hours,
        correction_minutes=correction_minutes,
        baseline_rate=rate,
        rate_source="own" if own is not None else "default",
        baseline_hours=baseline_hours,
        hours_saved=saved,
        no_speech=no_speech,
    )


def _job_rows(
    session: Session,
    *,
    start: date | None = None,
    end: date | None = None,
    department_id: int | None = None,
    job_id: int | None = None,
) -> list[tuple[Any, ...]]:
    query = (
        select(
            AsrJob.id,
            AsrJob.source,
            Department.name,
            AsrJob.department_id,
            AsrJob.meeting_date,
            AsrJob.title,
            AsrJob.audio_seconds,
            AsrJob.correction_minutes,
            Department.code,
            AsrJob.no_speech,
        )
        .outerjoin(Department, AsrJob.department_id == Department.id)
        .order_by(AsrJob.meeting_date, AsrJob.id)
    )
    if start is not None:
        query = query.where(AsrJob.meeting_date >= start)
    if end is not None:
        query = query.where(AsrJob.meeting_date <= end)
    if department_id is not None:
        query = query.where(AsrJob.department_id == department_id)
    if job_id is not None:
        query = query.where(AsrJob.id == job_id)
    return [tuple(r) for r in session.execute(query)]


def _to_figures(row: tuple[Any, ...], rates: dict[int, float], default_rate: float) -> JobFigures:
    job_id, source, name, dept_id, meeting_date, title, audio_seconds, correction = row[:8]
    silent = row[9]
    return _figures(
        job_id=job_id,
        source=source,
        department=name,
        department_id=dept_id,
        meeting_date=meeting_date,
        title=title or "",
        audio_seconds=audio_seconds,
        correction_minutes=correction,
        no_speech=bool(silent),
        rates=rates,
        default_rate=default_rate,
    )


def find_department(session: Session, name: str) -> Department:
    """The department called ``name`` (compared after NFKC and trimming).

    Raises:
        NotFoundError: no department has that name.
    """
    key = normalize_name(name)
    found = session.scalar(select(Department).where(Department.name_key == key))
    if found is None:
        raise NotFoundError(f"所属「{key}」は登録されていません（pilots org list で確認できます）")
    return found


def list_jobs(
    session: Session,
    *,
    default_rate: float,
    fiscal_year: int | None = None,
    department: str | None = None,
) -> list[JobFigures]:
    """Jobs with their figures, by meeting date; optionally one fiscal year or one department.

    Raises:
        NotFoundError: ``department`` names no known department.
    """
    start = end = None
    if fiscal_year is not None:
        start, end = fiscal_year_bounds(fiscal_year)
    dept_id = find_department(session, department).id if department else None
    rates = _rates(session)
    jobs = [
        _to_figures(r, rates, default_rate)
        for r in _job_rows(session, start=start, end=end, department_id=dept_id)
    ]
    linked = _web_jobs(session)
    return [replace(j, web_jobs=linked.get(j.job_id, [])) for j in jobs]


def _web_jobs(session: Session, job_id: int | None = None) -> dict[int, list[int]]:
    """The web queue's job numbers of each logged job (or of ``job_id`` only)."""
    query = select(WebJob.asr_job_id, WebJob.id)
    if job_id is not None:
        query = query.where(WebJob.asr_job_id == job_id)
    found: dict[int, list[int]] = {}
    rows = session.execute(query.order_by(WebJob.id))
    for asr_job_id, web_job_id in rows:
        if asr_job_id is not None:
            found.setdefault(asr_job_id, []).append(web_job_id)
    return found


# --- correction times ----------------------------------------------------------


@dataclass(frozen=True)
class CorrectionResult:
    """What ``pilots asr correction JOB_ID MINUTES`` recorded.

    Attributes:
        job: the job's figures with the new correction time.
        previous_minutes: the correction time reported before, if any.
    """

    job: JobFigures
    previous_minutes: float | None


def _shown(value: float) -> str:
    # Numbers in messages: 35, 35.5, 99,999,999 — and 1e+308 rather than 309 digits.
    if not math.isfinite(value) or abs(value) >= 1e12:
        return f"{value:.3g}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def correction_problem(minutes: float, audio_minutes: float, max_ratio: float) -> str | None:
    """Why a self-reported correction time cannot be right, or None when it is plausible.

    SPEC §3: a self-reported correction time must be a finite number ≥ 0 and at
    most ``max_ratio`` (the ``asr.max_correction_ratio`` setting) times the
    recording's length; anything else is refused, never stored.
    """
    if not math.isfinite(minutes):
        return f"数値ではありません: {minutes}"
    if minutes < 0:
        return f"0以上の分数にしてください: {_shown(minutes)}"
    limit = audio_minutes * max_ratio
    if minutes > limit:
        return (
            f"{_shown(minutes)}分は録音の長さ（{_shown(audio_minutes)}分）の{max_ratio:g}倍"
            f"（{_shown(limit)}分）を超えています。分で入力したか確かめてください"
            "（倍率の上限は設定 PILOTS_ASR_MAX_CORRECTION_RATIO）"
        )
    return None


def report_correction(
    session: Session,
    job_id: int,
    minutes: float,
    *,
    default_rate: float,
    max_ratio: float,
    now: datetime | None = None,
) -> CorrectionResult:
    """Record how many minutes the clerk spent correcting a job's draft (修正時間).

    A later report replaces an earlier one (the clerk's latest figure is the one
    the measurement uses). The value is checked by :func:`correction_problem`.

    Raises:
        ConfigError: ``minutes`` is not finite, negative or implausible for the recording.
        NotFoundError: there is no job ``job_id``.
    """
    job = session.get(AsrJob, job_id)
    if job is None:
        raise NotFoundError(f"ジョブ #{job_id} はありません（pilots asr jobs で一覧を表示します）")
    problem = correction_problem(minutes, job.audio_seconds / 60, max_ratio)
    if problem is not None:
        raise ConfigError("修正時間", problem)
    previous = job.correction_minutes
    job.correction_minutes = float(minutes)
    job.corrected_at = now or datetime.now()
    session.flush()
    (row,) = _job_rows(session, job_id=job_id)
    figures = _to_figures(row, _rates(session), default_rate)
    return CorrectionResult(
        replace(figures, web_jobs=_web_jobs(session, job_id).get(job_id, [])), previous
    )


# --- usage reports from departments -------------------------------------------


@dataclass
class UsageImportResult:
    """What ``pilots asr import FILE`` did.

    Attributes:
        file: the file read.
        encoding: the CSV encoding detected (None for xlsx).
        rows: data rows read (blank lines not counted).
        added: jobs created.
        updated: jobs already imported whose correction time (or title) the file changed.
        unchanged: rows already imported with nothing new.
        rejected: rows that could not be read, with line and reason.
        departments_created: departments the file named that were not known yet.
    """

    file: str
    encoding: str | None
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[ImportReject] = field(default_factory=list)
    departments_created: list[str] = field(default_factory=list)


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
    if _blank(raw_date):
        return None, "会議日が空です", identity
    try:
        meeting_date = parse_iso_or_japanese(raw_date)
    except CalendarError as exc:
        return None, f"会議日: {exc}", identity
    raw_audio = values.get("audio_minutes")
    if _blank(raw_audio):
        return None, f"{AUDIO_LABEL}が空です", identity
    try:
        audio = _number(raw_audio, AUDIO_LABEL, minutes=True)
    except ValueError as exc:
        return None, str(exc), identity
    if audio <= 0:
        return None, f"{AUDIO_LABEL}は0より大きい値にしてください: {as_text(raw_audio)}", identity
    identity = (normalize_name(name), meeting_date, round(audio, 3))
    correction: float | None = None
    raw_correction = values.get("correction_minutes")
    if not _blank(raw_correction):
        try:
            correction = _number(raw_correction, CORRECTION_LABEL, minutes=True)
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
    file_id = _file_id(path)
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
        for job_id, key, minutes, corrected_at, title in session.execute(
            select(
                jobs.c.id,
                jobs.c.import_key,
                jobs.c.correction_minutes,
                jobs.c.corrected_at,
                jobs.c.title,
            ).where(jobs.c.import_key.in_(keys[chunk : chunk + _KEY_CHUNK]))
        ):
            existing[key] = (job_id, minutes, corrected_at, title)
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
                        "corrected_at": moment if usage.correction_minutes is not None else None,
                    }
                )
                continue
            job_id, minutes, corrected_at, title = found
            new_minutes, new_at, new_title = minutes, corrected_at, title
            if usage.correction_minutes is not None and minutes != usage.correction_minutes:
                new_minutes, new_at = usage.correction_minutes, moment
            if usage.title and title != usage.title:
                new_title = usage.title
            if (new_minutes, new_at, new_title) == (minutes, corrected_at, title):
                result.unchanged += 1
                continue
            changed.append(
                {"job_id": job_id, "minutes": new_minutes, "at": new_at, "new_title": new_title}
            )
    if added:
        session.execute(insert(jobs), added)
    if changed:
        session.execute(
            update(jobs)
            .where(jobs.c.id == bindparam("job_id"))
            .values(
                correction_minutes=bindparam("minutes"),
                corrected_at=bindparam("at"),
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


# --- the period summary ----------------------------------------------------------


@dataclass(frozen=True)
class DepartmentSummary:
    """One department's figures in the period (or 所属不明 for jobs without one).

    Attributes:
        department: the department's name, or 所属不明.
        department_id: None for 所属不明.
        jobs / measured_jobs / unmeasured_jobs: all jobs, those with and
            those without a reported correction time.
        audio_hours: audio of all its jobs.
        baseline_rate / rate_source: the rate used, ``own`` or ``default``.
        baseline_hours / correction_hours / hours_saved: over measured jobs only.
    """

    department: str
    department_id: int | None
    jobs: int
    measured_jobs: int
    unmeasured_jobs: int
    audio_hours: float
    baseline_rate: float
    rate_source: str
    baseline_hours: float
    correction_hours: float
    hours_saved: float


@dataclass(frozen=True)
class MonthSummary:
    """One calendar month of the period (by meeting date).

    Attributes:
        month: ``YYYY-MM``.
        label: the month in the Japanese era (令和元年5月).
        departments_using: distinct departments with a job in the month.
        departments_cumulative: distinct departments with a job from the start
            of the period up to the end of the month (the usage curve).
    """

    month: str
    label: str
    jobs: int
    measured_jobs: int
    departments_using: int
    departments_cumulative: int
    audio_hours: float
    hours_saved: float


@dataclass(frozen=True)
class ListedJob:
    """A job as the summary lists it: number, source, department, date and length."""

    job_id: int
    source: str
    department: str
    meeting_date: date
    audio_minutes: float


@dataclass(frozen=True)
class UnmeasuredJob(ListedJob):
    """A job without a reported correction time: usage, excluded from hours saved."""


@dataclass(frozen=True)
class ExcludedJob(ListedJob):
    """A job left out of every figure, with the reason (e.g. a recording without speech)."""

    reason: str = ""


NO_SPEECH_REASON = "音声が検出されなかった（話し声のない録音）ため、利用に数えない"


@dataclass(frozen=True)
class RejectedRow:
    """A usage-report row that was not loaded (``pilots asr import``)."""

    file: str
    line: int
    reason: str


@dataclass(frozen=True)
class AsrSummary:
    """The speech-recognition figures of one period (SPEC §3), with their rules.

    Attributes:
        fiscal_year / period / period_label: e.g. 2019, ``final``,
            令和元年度 最終（令和2年3月末時点）.
        start / as_of / months: the period and its months elapsed (SPEC §2).
        departments_using: distinct departments with ≥ 1 job in the period.
        jobs: all jobs in the period (usage).
        measured_jobs: jobs with a reported correction time (the denominator of hours_saved).
        unmeasured_jobs: jobs without one (listed in ``unmeasured``).
        jobs_without_department: jobs counted under 所属不明.
        audio_hours: audio of all jobs.
        baseline_hours / correction_hours: over measured jobs.
        hours_saved: Σ saved(job) over measured jobs.
        avg_hours_saved_per_month: hours_saved / months.
        default_baseline_rate: the organisation-wide default rate used.
        departments_on_default_rate: departments in the period without their own rate.
        by_department / by_month: the same figures broken down.
        unmeasured: every job excluded from hours_saved.
        excluded_jobs / excluded: jobs left out of every figure — usage included —
            with the reason: a recording in which no speech was found.
        rejected_rows: every usage-report row not loaded, from all imports.
        rules: each figure's rule and denominator, in Japanese.
    """

    fiscal_year: int
    period: str
    period_label: str
    start: date
    as_of: date
    months: int
    departments_using: int
    jobs: int
    measured_jobs: int
    unmeasured_jobs: int
    jobs_without_department: int
    audio_hours: float
    baseline_hours: float
    correction_hours: float
    hours_saved: float
    avg_hours_saved_per_month: float
    default_baseline_rate: float
    departments_on_default_rate: list[str]
    by_department: list[DepartmentSummary]
    by_month: list[MonthSummary]
    unmeasured: list[UnmeasuredJob]
    excluded_jobs: int
    excluded: list[ExcludedJob]
    rejected_rows: list[RejectedRow]
    rules: dict[str, str]


def _r(value: float) -> float:
    # Sums are computed unrounded; six decimals only hide binary noise in the output.
    return round(value, 6)


def _month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _listed(job: JobFigures) -> dict[str, Any]:
    """The fields of :class:`ListedJob` for ``job``."""
    return {
        "job_id": job.job_id,
        "source": job.source,
        "department": job.department or UNKNOWN_DEPARTMENT,
        "meeting_date": job.meeting_date,
        "audio_minutes": _r(job.audio_minutes),
    }


def summarize(session: Session, period: Period, *, default_rate: float) -> AsrSummary:
    """Compute the period's speech-recognition figures by the rules of SPEC §3.

    Args:
        session: the database.
        period: the fiscal year's interim or final period (its end is the as-of date).
        default_rate: the ``default_baseline_rate`` setting, for departments
            without their own rate and for jobs without a department.
    """
    rates = _rates(session)
    found = _job_rows(session, start=period.start, end=period.end)
    # A recording without speech is no meeting: not usage, not a department using it.
    rows = [r for r in found if not r[9]]
    excluded = [
        ExcludedJob(**_listed(_to_figures(r, rates, default_rate)), reason=NO_SPEECH_REASON)
        for r in found
        if r[9]
    ]
    jobs = [_to_figures(r, rates, default_rate) for r in rows]
    codes = {r[3]: r[8] for r in rows}

    groups: dict[int | None, list[JobFigures]] = {}
    dept_ids: dict[int, int | None] = {}
    for row, job in zip(rows, jobs, strict=True):
        groups.setdefault(row[3], []).append(job)
        dept_ids[job.job_id] = row[3]
    by_department = []
    for dept_id, members in groups.items():
        measured = [j for j in members if j.measured]
        by_department.append(
            DepartmentSummary(
                department=members[0].department or UNKNOWN_DEPARTMENT,
                department_id=dept_id,
                jobs=len(members),
                measured_jobs=len(measured),
                unmeasured_jobs=len(members) - len(measured),
                audio_hours=_r(sum(j.audio_hours for j in members)),
                baseline_rate=members[0].baseline_rate,
                rate_source=members[0].rate_source,
                baseline_hours=_r(sum(j.baseline_hours for j in measured)),
                correction_hours=_r(sum((j.correction_minutes or 0) / 60 for j in measured)),
                hours_saved=_r(sum(j.hours_saved or 0 for j in measured)),
            )
        )
    by_department.sort(
        key=lambda d: (
            d.department_id is None,
            codes.get(d.department_id) is None,
            codes.get(d.department_id) or "",
            normalize_name(d.department),
        )
    )

    by_month = []
    seen_departments: set[int] = set()
    jobs_by_month: dict[str, list[JobFigures]] = {}
    for job in jobs:
        jobs_by_month.setdefault(_month_key(job.meeting_date), []).append(job)
    for first in months(period.start, period.end):
        key = _month_key(first)
        members = jobs_by_month.get(key, [])
        measured = [j for j in members if j.measured]
        month_departments = {d for j in members if (d := dept_ids[j.job_id]) is not None}
        seen_departments |= month_departments
        by_month.append(
            MonthSummary(
                month=key,
                label=format_date(first).removesuffix("1日"),
                jobs=len(members),
                measured_jobs=len(measured),
                departments_using=len(month_departments),
                departments_cumulative=len(seen_departments),
                audio_hours=_r(sum(j.audio_hours for j in members)),
                hours_saved=_r(sum(j.hours_saved or 0 for j in measured)),
            )
        )

    measured_jobs = [j for j in jobs if j.measured]
    hours_saved = sum(j.hours_saved or 0 for j in measured_jobs)
    elapsed = period.months
    using = sum(1 for d in by_department if d.department_id is not None)
    without = sum(d.jobs for d in by_department if d.department_id is None)
    on_default = [
        d.department
        for d in by_department
        if d.department_id is not None and d.rate_source == "default"
    ]
    unmeasured = [UnmeasuredJob(**_listed(j)) for j in jobs if not j.measured]
    rejected = [
        RejectedRow(file=f, line=line, reason=reason)
        for f, line, reason in session.execute(
            select(
                AsrImportReject.import_file, AsrImportReject.line, AsrImportReject.reason
            ).order_by(AsrImportReject.import_file, AsrImportReject.line)
        )
    ]
    rules = {
        "saved": "削減時間(ジョブ) = 録音時間(時間) × 従来作業時間率(所属) − 修正時間(時間)",
        "departments_using": (
            f"期間内（会議日 {period.start.isoformat()}〜{period.end.isoformat()}）にジョブが"
            f"1件以上ある所属の数。所属不明のジョブ{without}件は所属として数えない。"
            f"音声が検出されなかった録音{len(excluded)}件はジョブとしても数えない"
        ),
        "hours_saved": (
            f"修正時間の報告があるジョブ{len(measured_jobs)}件の削減時間の合計。"
            f"報告のないジョブ{len(unmeasured)}件は利用として数え、削減時間には含めない"
        ),
        "avg_hours_saved_per_month": f"削減時間 ÷ 経過月数 {elapsed}か月",
        "baseline_rate": (
            f"自所属の従来作業時間率がない所属（{len(on_default)}所属）と所属不明のジョブは"
            f"既定値 {default_rate:g} 時間/録音1時間（設定 PILOTS_DEFAULT_BASELINE_RATE）"
        ),
    }
    return AsrSummary(
        fiscal_year=period.fiscal_year,
        period=period.kind,
        period_label=period.label,
        start=period.start,
        as_of=period.end,
        months=elapsed,
        departments_using=using,
        jobs=len(jobs),
        measured_jobs=len(measured_jobs),
        unmeasured_jobs=len(unmeasured),
        jobs_without_department=without,
        audio_hours=_r(sum(j.audio_hours for j in jobs)),
        baseline_hours=_r(sum(j.baseline_hours for j in measured_jobs)),
        correction_hours=_r(sum((j.correction_minutes or 0) / 60 for j in measured_jobs)),
        hours_saved=_r(hours_saved),
        avg_hours_saved_per_month=_r(hours_saved / elapsed),
        default_baseline_rate=default_rate,
        departments_on_default_rate=on_default,
        by_department=by_department,
        by_month=by_month,
        unmeasured=unmeasured,
        excluded_jobs=len(excluded),
        excluded=excluded,
        rejected_rows=rejected,
        rules=rules,
    )
