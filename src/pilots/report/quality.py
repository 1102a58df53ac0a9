"""The report's data-quality section: what each figure left out, how many, and why (SPEC §6)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.asr.measure import AsrSummary
from pilots.calendar import format_date
from pilots.rpa.ingest import list_rejects
from pilots.rpa.measure import RpaSummary
from pilots.survey.measure import SurveySummary
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


def quality_items(
    session: Session,
    asr: AsrSummary,
    surveys: Sequence[SurveySummary],
    rpa: RpaSummary,
) -> list[QualityItem]:
    """What was left out of each figure, whenever anything was (and every count of a pilot
    that has data, zeros included, so that a reader sees it was checked)."""
    items: list[QualityItem] = []

    def add(item: QualityItem, has_data: bool) -> None:
        if item.count or has_data:
            items.append(item)

    asr_data = asr.jobs > 0
    add(
        QualityItem(
            "音声認識",
            "修正時間が未報告のジョブ",
            asr.unmeasured_jobs,
            "利用件数には数え、削減時間には含めない（推計しない）",
            [
                f"#{u.job_id} {u.department} {format_date(u.meeting_date)} "
                f"録音{u.audio_minutes:g}分"
                for u in asr.unmeasured
            ],
        ),
        asr_data,
    )
    add(
        QualityItem(
            "音声認識",
            "音声が検出されなかった録音",
            asr.excluded_jobs,
            "話し声のない録音は会議の利用ではないため、利用件数・利用所属数・削減時間の"
            "いずれにも含めない",
            [
                f"#{x.job_id} {x.department} {format_date(x.meeting_date)} "
                f"録音{x.audio_minutes:g}分"
                for x in asr.excluded
            ],
        ),
        False,
    )
    add(
        QualityItem(
            "音声認識",
            "所属不明のジョブ",
            asr.jobs_without_department,
            "利用所属数に数えない（削減時間は既定の従来作業時間率で計算）",
        ),
        False,
    )
    asr_files = _shown_names(session, (r.file for r in asr.rejected_rows))
    add(
        QualityItem(
            "音声認識",
            "取り込めなかった利用報告の行",
            len(asr.rejected_rows),
            "読めない行（日付・時間の誤り等）は集計から除外",
            [f"{asr_files[r.file]} {r.line}行目: {r.reason}" for r in asr.rejected_rows],
        ),
        asr_data,
    )
    rpa_data = rpa.runs_success + rpa.runs_failure + rpa.other_runs > 0
    for exclusion in rpa.excluded:
        details: list[str] = []
        if exclusion.what == "unmatched_runs":
            details = [f"{s.scenario}（{s.runs:,}回）" for s in rpa.unmatched_scenarios]
        elif exclusion.what == "other_runs":
            details = [f"状態「{k}」: {v:,}回" for k, v in rpa.other_by_status.items()]
        elif exclusion.what == "rejected_rows" and exclusion.count:
            rejects = list_rejects(session)
            shown = _shown_names(session, (r.file for r in rejects))
            details = [f"{shown[r.file]} {r.line}行目: {r.reason}" for r in rejects]
        add(
            QualityItem("RPA", exclusion.label, exclusion.count, exclusion.reason, details),
            rpa_data,
        )
    for s in surveys:
        area = f"満足度調査「{s.survey}」" if len(surveys) > 1 else "満足度調査"
        items.append(
            QualityItem(
                area,
                "無回答",
                s.non_responses,
                "有効回答（分母）に含めない",
                [
                    f"{e.line}行目 {e.department}: {e.answer_raw or '（空欄）'}"
                    for e in s.excluded
                    if e.status != "unrecognised"
                ],
            )
        )
        items.append(
            QualityItem(
                area,
                "5段階にない回答",
                s.unrecognised,
                "有効回答（分母）に含めない",
                [
                    f"{e.line}行目 {e.department}: {e.answer_raw}"
                    for e in s.excluded
                    if e.status == "unrecognised"
                ],
            )
        )
        outside = s.responses_before_start + s.responses_after_as_of
        add(
            QualityItem(
                area,
                "期間外に完了した回答",
                outside,
                "対象期間の前または基準日より後に完了した回答は数えない",
            ),
            False,
        )
    return items
