"""The report's data-quality section: what each figure left out, how many, and why (SPEC §6)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.asr.measure import AsrSummary, ListedJob
from pilots.calendar import format_date
from pilots.figures import Exclusion
from pilots.rpa.ingest import list_rejects
from pilots.rpa.measure import RpaSummary
from pilots.survey.measure import SurveySummary
from pilots.survey.scale import UNRECOGNISED
from pilots.tables import WebUpload


@dataclass(frozen=True)
class QualityItem:
    """A record left out of a figure: what, how many, and why.

    ``details`` name each record (a file by its name, never a local path).
    """

    area: str
    what: str
    count: int
    reason: str
    details: list[str] = field(default_factory=list)


def _shown_names(session: Session, files: Iterable[str]) -> dict[str, str]:
    """Each stored file path → the name a reader knows it by.

    The file's own name, never the evaluator's local folders; a file uploaded
    through the web UI (stored as ``<uuid>.csv``) by the name it was uploaded as.
    """
    names = {f: PurePath(f.replace("\\", "/")).name for f in set(files)}
    uploaded: dict[str, str] = {
        stored: original
        for stored, original in session.execute(
            select(WebUpload.stored_name, WebUpload.original_name).where(
                WebUpload.stored_name.in_(set(names.values()))
            )
        )
    }
    return {f: uploaded.get(name, name) for f, name in names.items()}


# Left out of the section while they are zero: the cases that are rare. Every other count
# of a pilot with data is shown, zeros included, so that a reader sees it was checked.
_SHOWN_WHEN_ANY = frozenset(
    {"no_speech_jobs", "jobs_without_department", "responses_outside_period"}
)


def quality_items(
    session: Session,
    asr: AsrSummary,
    surveys: Sequence[SurveySummary],
    rpa: RpaSummary,
) -> list[QualityItem]:
    """What was left out of each figure: every summary's exclusions, by their fixed keys,
    with the records behind them (whenever anything was left out, and every count of a
    pilot that has data, zeros included, but for the rare cases)."""
    items: list[QualityItem] = []

    def add(area: str, exclusion: Exclusion, has_data: bool, details: list[str]) -> None:
        if exclusion.count or (has_data and exclusion.what not in _SHOWN_WHEN_ANY):
            items.append(
                QualityItem(area, exclusion.label, exclusion.count, exclusion.reason, details)
            )

    for exclusion in asr.exclusions:
        add("音声認識", exclusion, asr.jobs > 0, _asr_details(session, asr, exclusion))
    rpa_data = rpa.runs_success + rpa.runs_failure + rpa.other_runs > 0
    for exclusion in rpa.exclusions:
        add("RPA", exclusion, rpa_data, _rpa_details(session, rpa, exclusion))
    for s in surveys:
        area = f"満足度調査「{s.survey}」" if len(surveys) > 1 else "満足度調査"
        for exclusion in s.exclusions:
            add(area, exclusion, True, _survey_details(s, exclusion))
    return items


def _job_line(job: ListedJob) -> str:
    when = format_date(job.meeting_date)
    return f"#{job.job_id} {job.department} {when} 録音{job.audio_minutes:g}分"


def _asr_details(session: Session, asr: AsrSummary, exclusion: Exclusion) -> list[str]:
    if exclusion.what == "unmeasured_jobs":
        return [_job_line(u) for u in asr.unmeasured]
    if exclusion.what == "no_speech_jobs":
        return [_job_line(x) for x in asr.excluded]
    if exclusion.what == "rejected_rows":
        shown = _shown_names(session, (r.file for r in asr.rejected_rows))
        return [f"{shown[r.file]} {r.line}行目: {r.reason}" for r in asr.rejected_rows]
    return []


def _rpa_details(session: Session, rpa: RpaSummary, exclusion: Exclusion) -> list[str]:
    if exclusion.what == "unmatched_runs":
        return [f"{s.scenario}（{s.runs:,}回）" for s in rpa.unmatched_scenarios]
    if exclusion.what == "other_runs":
        return [f"状態「{k}」: {v:,}回" for k, v in rpa.other_by_status.items()]
    if exclusion.what == "rejected_rows" and exclusion.count:
        rejects = list_rejects(session)
        shown = _shown_names(session, (r.file for r in rejects))
        return [f"{shown[r.file]} {r.line}行目: {r.reason}" for r in rejects]
    return []


def _survey_details(s: SurveySummary, exclusion: Exclusion) -> list[str]:
    if exclusion.what == "non_responses":
        return [
            f"{e.line}行目 {e.department}: {e.answer_raw or '（空欄）'}"
            for e in s.excluded
            if e.status != UNRECOGNISED
        ]
    if exclusion.what == "unrecognised":
        return [
            f"{e.line}行目 {e.department}: {e.answer_raw}"
            for e in s.excluded
            if e.status == UNRECOGNISED
        ]
    return []
