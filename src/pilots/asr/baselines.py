"""Baseline rates (従来作業時間, SPEC §3): hours of minutes work per hour of audio before adoption.

Each department's rate comes from the pre-adoption survey, loaded by
``pilots asr baseline FILE``; a department without its own rate uses the
organisation-wide default (the ``default_baseline_rate`` setting), applied
where the figures are computed (:mod:`pilots.asr.jobs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.errors import InputFileError
from pilots.org import DepartmentResolver
from pilots.tables import AsrBaseline
from pilots.tabular import Column, ImportCounts, as_text, parse_number, read_table
from pilots.text import normalize_name

BASELINE_COLUMNS = (
    Column("department", ("所属", "所属名")),
    Column(
        "baseline_hours_per_audio_hour",
        ("従来作業時間(時間/録音1時間)", "従来作業時間", "baseline_rate"),
    ),
)
RATE_LABEL = "従来作業時間(時間/録音1時間)"


@dataclass
class BaselineImportResult(ImportCounts):
    """What ``pilots asr baseline FILE`` did.

    Attributes:
        added / updated / unchanged: departments whose rate was new, changed, the same.
        departments_created: departments the file named that were not known yet.
    """

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
        if as_text(raw) == "":
            raise InputFileError(path, "値が空です", line=row.line, column=RATE_LABEL)
        try:
            rate = parse_number(raw, RATE_LABEL)
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
    source = str(Path(path).resolve())  # a file is remembered by its absolute path
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


def baseline_rates(session: Session) -> dict[int, float]:
    """Each department's own rate, by department id (departments without one are absent)."""
    return {
        dept_id: rate
        for dept_id, rate in session.execute(
            select(AsrBaseline.department_id, AsrBaseline.hours_per_audio_hour)
        )
    }
