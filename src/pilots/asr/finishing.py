"""Finishing a correction in the editor: 修正完了, reopening, and the corrected minutes' files.

修正完了 (:func:`finish_editing`) freezes the document and records the job's
correction (SPEC §3) through :func:`pilots.asr.corrections.finish_correction`:
the correction time measured by the editor (source ``editor``: the union of the
job's stretches of active work, :mod:`pilots.asr.activity`) and the draft
accuracy (the draft's text against the corrected text). Reopening
(:func:`reopen_editing`) lets the clerk correct again; it is recorded, and the
next 修正完了 records the time of all the sessions together.

The corrected minutes are written by the same writers and templates as the draft
(:func:`pilots.asr.minutes.write_outputs`), fed the corrected utterances with
their speakers' names; the review flags of the draft are not carried over (the
clerk has checked those spots).
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from pilots.asr.activity import active_seconds
from pilots.asr.corrections import CorrectionResult, finish_correction, reopen_correction
from pilots.asr.editing import EDITING, FINISHED, Document, EditError, load_document, set_state
from pilots.asr.minutes import write_outputs
from pilots.asr.result import MeetingInfo, Transcript, Utterance

CORRECTED_FORMATS = ("docx", "md", "txt", "srt", "vtt")


def corrected_transcript(
    document: Document,
    *,
    audio_name: str,
    duration: float,
    model: str,
    processing_seconds: float,
    meeting: MeetingInfo,
) -> Transcript:
    """The corrected document as a transcript the minutes writers take."""
    return Transcript(
        audio=Path(audio_name),
        audio_sha256="",
        duration=duration,
        language="ja",
        model=model,
        processing_seconds=processing_seconds,
        meeting=meeting,
        utterances=[
            Utterance(
                start=u.start,
                end=u.end,
                text=u.text,
                raw_text=u.text,
                speaker=document.speaker_name(u.speaker),
            )
            for u in document.utterances
            if u.text.strip()
        ],
    )


def corrected_minutes(
    transcript: Transcript, fmt: str, *, template_dir: Path | None = None
) -> bytes:
    """The corrected minutes in one format (docx, md, txt, srt, vtt), as the draft's writers
    write it.

    Raises:
        ConfigError: an unknown format.
        InputFileError: an office template cannot be used.
    """
    with tempfile.TemporaryDirectory(prefix="pilots-corrected-") as folder:
        (path,) = write_outputs(
            transcript, Path(folder), [fmt], stem="minutes", template_dir=template_dir
        )
        return path.read_bytes()


def finish_editing(
    session: Session,
    job_id: int,
    *,
    by: str,
    tab: str,
    now: datetime,
    max_ratio: float,
    default_rate: float,
) -> CorrectionResult:
    """修正完了: freeze the document and record the measured correction time and the accuracy.

    Raises:
        EditError: the job has no document, or it is finished already.
    """
    document = load_document(session, job_id)
    if document is None:
        raise EditError(f"ジョブ #{job_id} の編集中の議事録はありません")
    if document.finished:
        raise EditError("この議事録はもう修正完了になっています")
    result = finish_correction(
        session,
        job_id,
        corrected_text=document.text,
        draft_text=document.draft_text,
        minutes=active_seconds(session, job_id) / 60,
        source="editor",
        max_ratio=max_ratio,
        default_rate=default_rate,
        finished_by=by,
    )
    set_state(session, job_id, FINISHED, tab=tab, user=by, now=now)
    return result


def reopen_editing(session: Session, job_id: int, *, by: str, tab: str, now: datetime) -> None:
    """Reopen a finished correction for more work (recorded; the job is no longer finished).

    Raises:
        EditError: the job has no document, or it is not finished.
    """
    document = load_document(session, job_id)
    if document is None or not document.finished:
        raise EditError("この議事録は修正完了になっていません")
    reopen_correction(session, job_id, by=by, when=now)
    set_state(session, job_id, EDITING, tab=tab, user=by, now=now)
