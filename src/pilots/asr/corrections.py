"""Finishing a job's correction (修正完了): its time and that time's source, the draft accuracy.

SPEC §3, "Where the correction time comes from": each correction time carries
its source, ``editor`` (measured by the correction editor: active time,
idle gaps not counted) or ``self-reported`` (typed by the clerk, e.g. after
correcting in Word; a department's usage report is self-reported too). A
self-reported time must be a finite number ≥ 0 and at most
``asr.max_correction_ratio`` times the recording (:func:`correction_problem`);
anything else is refused, never stored. A measured time is taken as measured,
but it too must be finite and ≥ 0.

SPEC §3, "Draft accuracy": when a correction is finished with the corrected
text, the draft is compared with it (:func:`pilots.asr.metrics.measure_accuracy`)
and the edits by kind are stored with the job.

The job row holds the current state; every finish and reopening is also
written to :class:`pilots.tables.AsrCorrection`. Reopening
(:func:`reopen_correction`) takes the job back to "being corrected": its
correction time, source and accuracy are cleared from the job — so the
summary counts it as usage without a correction time, and leaves its accuracy
out — until it is finished again; the history keeps them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.asr.jobs import JobFigures, job_figures, stored_job
from pilots.asr.metrics import Accuracy, measure_accuracy
from pilots.asr.minutes import spoken_line
from pilots.errors import ConfigError, StateError
from pilots.tables import AsrCorrection, AsrJob, WebJob, WebJobOutput

EDITOR = "editor"
SELF_REPORTED = "self-reported"
CORRECTION_SOURCES = (EDITOR, SELF_REPORTED)
"""Where a correction time comes from (SPEC §3)."""

SOURCE_LABELS = {EDITOR: "計測", SELF_REPORTED: "自己申告"}
"""How pages and reports name the sources: 計測 (the editor measured it), 自己申告."""

NO_DRAFT_IMPORTED = "利用報告から取り込んだジョブには議事録案がないため、認識精度は測れません"
NO_DRAFT_STORED = (
    "このジョブの議事録案の本文が記録されていないため、認識精度は測れません"
    "（議事録案を記録する前の版で文字起こししたジョブです）"
)


@dataclass(frozen=True)
class CorrectionResult:
    """What finishing a correction recorded.

    Attributes:
        job: the job's figures after it: correction time, source, accuracy.
        previous_minutes: the correction time the job had before, if any.
        compared: a corrected text was given and compared with the draft now
            (``job.accuracy`` is its result).
        accuracy_note: why a corrected text given could not be compared (no
            draft: an imported job, or one drafted before drafts were kept); "" otherwise.
    """

    job: JobFigures
    previous_minutes: float | None
    compared: bool = False
    accuracy_note: str = ""


def _shown(value: float) -> str:
    # Numbers in messages: 35, 35.5, 99,999,999 — and 1e+308 rather than 309 digits.
    if not math.isfinite(value) or abs(value) >= 1e12:
        return f"{value:.3g}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _time_problem(minutes: float) -> str | None:
    """Why ``minutes`` is no duration at all (not finite, negative), or None."""
    if not math.isfinite(minutes):
        return f"数値ではありません: {minutes}"
    if minutes < 0:
        return f"0以上の分数にしてください: {_shown(minutes)}"
    return None


def correction_problem(minutes: float, audio_minutes: float, max_ratio: float) -> str | None:
    """Why a self-reported correction time cannot be right, or None when it is plausible.

    SPEC §3: a self-reported correction time must be a finite number ≥ 0 and at
    most ``max_ratio`` (the ``asr.max_correction_ratio`` setting) times the
    recording's length; anything else is refused, never stored.
    """
    problem = _time_problem(minutes)
    if problem is not None:
        return problem
    limit = audio_minutes * max_ratio
    if minutes > limit:
        return (
            f"{_shown(minutes)}分は録音の長さ（{_shown(audio_minutes)}分）の{max_ratio:g}倍"
            f"（{_shown(limit)}分）を超えています。分で入力したか確かめてください"
            "（倍率の上限は設定 PILOTS_ASR_MAX_CORRECTION_RATIO）"
        )
    return None


def stored_draft_text(session: Session, job_id: int, *, speakers: bool = True) -> str | None:
    """The job's draft as the accuracy compares it: its lines as the drafts write them.

    One utterance a line, after its speaker where it has one (``議長：…``,
    :func:`pilots.asr.minutes.spoken_line`), as in the docx, md and txt the
    clerk corrects; without the speakers (``speakers=False``) as the
    correction editor compares its text, where the speaker is a field of its own.

    From the segments kept with the job (``draft_json``); for a job the web
    worker drafted before they were kept, from the queue's text draft (``txt``),
    which holds the same lines. None when neither exists (an imported job, or
    one transcribed on the command line before). Draft files on disk are never
    read: the clerk may have corrected them in place.
    """
    stored = session.scalar(select(AsrJob.draft_json).where(AsrJob.id == job_id))
    if stored is not None:
        lines = (
            spoken_line(segment.get("speaker") if speakers else None, str(segment.get("text", "")))
            for segment in json.loads(stored)
        )
        return "".join(f"{line}\n" for line in lines if line)
    queued = session.scalar(
        select(WebJobOutput.data)
        .join(WebJob, WebJob.id == WebJobOutput.job_id)
        .where(WebJob.asr_job_id == job_id, WebJobOutput.format == "txt")
        .order_by(WebJob.id.desc())
        .limit(1)
    )
    return None if queued is None else queued.decode("utf-8")


def _set_accuracy(target: AsrJob | AsrCorrection, accuracy: Accuracy | None) -> None:
    target.corrected_characters = accuracy.characters if accuracy else None
    target.edit_substitutions = accuracy.substitutions if accuracy else None
    target.edit_insertions = accuracy.insertions if accuracy else None
    target.edit_deletions = accuracy.deletions if accuracy else None
    target.cer = accuracy.cer if accuracy else None


def finish_correction(
    session: Session,
    job_id: int,
    *,
    corrected_text: str | None,
    draft_text: str | None = None,
    minutes: float,
    source: str,
    max_ratio: float,
    default_rate: float,
    finished_by: str = "",
    when: datetime | None = None,
    corrected_file: str = "",
) -> CorrectionResult:
    """Finish a job's correction (修正完了): its time, the time's source, the draft accuracy.

    SPEC §3. The time replaces the one stored before (the latest finish is the
    one the measurement uses). A ``self-reported`` time is checked by
    :func:`correction_problem`; an ``editor`` time only for being finite and
    ≥ 0. With ``corrected_text``, the draft (``draft_text``, else the one kept
    with the job: :func:`stored_draft_text`) is compared with it and the accuracy is
    stored — or cleared, with ``accuracy_note`` saying why, when the job has
    no draft. Without it, an accuracy stored by an earlier finish stays (the
    clerk corrected only the time). Each call adds a row to the history.

    Args:
        session: the database (the caller commits).
        job_id: the job (``pilots asr jobs``).
        corrected_text: the corrected minutes' body, or None when only the time is known.
        draft_text: the draft the clerk started from; None for the job's own.
        minutes: the correction time in minutes.
        source: ``editor`` or ``self-reported`` (:data:`CORRECTION_SOURCES`).
        max_ratio: the ``asr.max_correction_ratio`` setting.
        default_rate: the ``default_baseline_rate`` setting, for the figures returned.
        finished_by: who finished it (user name; "" on the command line).
        when: when (naive local time); now by default.
        corrected_file: the name of the file the corrected text was read from, for the history.

    Raises:
        NotFoundError: there is no job ``job_id``.
        ConfigError: an unknown source, or a time that is refused.
    """
    job = stored_job(session, job_id)
    if source not in CORRECTION_SOURCES:
        raise ConfigError(
            "source", f"{source} は修正時間の出どころではありません（editor か self-reported）"
        )
    if source == SELF_REPORTED:
        problem = correction_problem(minutes, job.audio_seconds / 60, max_ratio)
    else:
        problem = _time_problem(minutes)
    if problem is not None:
        raise ConfigError("修正時間", problem)
    accuracy: Accuracy | None = None
    note = ""
    if corrected_text is not None:
        draft = draft_text
        if draft is None and job.source != "import":
            draft = stored_draft_text(session, job_id)
        if draft is None:
            note = NO_DRAFT_IMPORTED if job.source == "import" else NO_DRAFT_STORED
        else:
            accuracy = measure_accuracy(draft, corrected_text)
        _set_accuracy(job, accuracy)
    previous = job.correction_minutes
    moment = when or datetime.now()
    job.correction_minutes = float(minutes)
    job.correction_source = source
    job.finished_at = moment
    job.finished_by = finished_by[:100]
    entry = AsrCorrection(
        job_id=job_id,
        action="finish",
        done_at=moment,
        done_by=finished_by[:100],
        source=source,
        minutes=float(minutes),
        corrected_file=corrected_file[:300],
        corrected_text=corrected_text,
    )
    _set_accuracy(entry, accuracy)
    session.add(entry)
    session.flush()
    return CorrectionResult(
        job_figures(session, job_id, default_rate=default_rate),
        previous,
        compared=accuracy is not None,
        accuracy_note=note,
    )


def reopen_correction(
    session: Session, job_id: int, *, by: str = "", when: datetime | None = None
) -> None:
    """Reopen a finished correction for more work (修正の再開), and record it.

    The job is no longer finished: its correction time, source and accuracy
    leave the job row — the summary counts it as usage without a correction
    time and leaves its accuracy out — until it is finished again; the
    history (:class:`pilots.tables.AsrCorrection`) keeps them.

    Raises:
        NotFoundError: there is no job ``job_id``.
        StateError: its correction is not finished.
    """
    job = stored_job(session, job_id)
    if job.correction_minutes is None:
        raise StateError(
            f"ジョブ #{job_id} の修正はまだ完了していません（再開するものがありません）"
        )
    moment = when or datetime.now()
    job.correction_minutes = None
    job.correction_source = None
    job.finished_at = None
    job.finished_by = ""
    _set_accuracy(job, None)
    session.add(AsrCorrection(job_id=job_id, action="reopen", done_at=moment, done_by=by[:100]))
    session.flush()
