"""議事録の修正: the correction editor of a job, its recording, saves, 修正完了 and downloads.

The page (``/minutes/JOB/edit``, JOB being the 議事録作成 page's job number)
shows the recording and the utterances; its script (``static/editor.js``)
plays, edits, and saves every change within two seconds as operations on the
job's document (:mod:`pilots.asr.editing`), reporting the clerk's activity for
the measured correction time (:mod:`pilots.asr.activity`). Everything here
checks what the 議事録作成 page checks: a clerk reaches only their
department's jobs (:func:`pilots.web.pages.minutes.find_job`) — the recording
too — and every write carries the session's CSRF token.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from pilots.db import db_now
from pilots.errors import PilotsError
from pilots.web import playback, uploads
from pilots.web.context import Context, form_text, read_form, read_json
from pilots.web.pages.minutes import MINUTES_FORMATS, find_job
from pilots.web.render import attachment, guard, render

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pilots.asr.editing import Document
    from pilots.tables import WebJob

logger = logging.getLogger("pilots")

SAVE_LIMIT = 2 * 1024 * 1024  # bytes of one save: two seconds of typing are far less
SPEEDS = ("0.5", "0.75", "1.0", "1.25", "1.5", "1.75", "2.0")


def _asr_job_id(job: WebJob) -> int:
    if job.asr_job_id is None:
        raise HTTPException(404, "文字起こしが終わっていないため、まだ修正できません")
    return job.asr_job_id


# --- the page ---------------------------------------------------------------------------


def editor_page(request: Request) -> Response:
    ctx, refused = guard(request, "minutes")
    if refused:
        return refused
    return render(ctx, "editor.html", **_page_values(ctx, request.path_params["job_id"]))


def _page_values(ctx: Context, job_id: int) -> dict[str, Any]:
    from pilots.asr.editing import marked_pieces, open_document
    from pilots.tables import AsrJob

    settings = ctx.state.config.settings
    threshold = settings.get("asr.uncertain_word_probability")
    with ctx.state.session() as session:
        job = find_job(session, ctx, job_id)
        asr_id = _asr_job_id(job)
        document = open_document(session, asr_id, now=db_now(session))
        if document is None:
            raise HTTPException(404, "このジョブには修正できる議事録案がありません")
        measured = session.get(AsrJob, asr_id)
        recording = uploads.recording(session, settings.data_dir, job)
        mime = _media_type(recording)
        web_formats = _draft_formats(session, job.id)
    items = [
        {"u": u, "pieces": marked_pieces(u, threshold), "speaker": document.speaker_name(u.speaker)}
        for u in document.utterances
    ]
    unsure = sum(1 for u in document.utterances for _f, _e, _t, p in u.words if p < threshold)
    return {
        "job": job,
        "document": document,
        "items": items,
        "labels": _labels(document),
        "flagged": sum(1 for u in document.utterances if u.flags),
        "unsure": unsure,
        "recording": recording is not None,
        "mime": mime,
        "measured": measured,
        "speeds": SPEEDS,
        "idle_gap": settings.get("asr.idle_gap_seconds"),
        "draft_formats": web_formats,
        "corrected_formats": _corrected_formats(),
    }


def _media_type(recording: Path | None) -> str:
    if recording is None:
        return ""
    try:
        return playback.media_type(recording)
    except PilotsError:
        return "audio/x-unknown"


def _draft_formats(session: Session, job_id: int) -> list[str]:
    from pilots.web import queue

    found = queue.output_formats(session, [job_id]).get(job_id, [])
    return [fmt for fmt in found if fmt in MINUTES_FORMATS]


def _corrected_formats() -> tuple[str, ...]:
    from pilots.asr.finishing import CORRECTED_FORMATS

    return CORRECTED_FORMATS


def _labels(document: Document) -> list[dict[str, str]]:
    """The speaker labels of the document, in order of first appearance, with their names."""
    seen = dict.fromkeys(u.speaker for u in document.utterances if u.speaker)
    for label in document.speakers:
        seen.setdefault(label)
    return [{"label": label, "name": document.speakers.get(label, "")} for label in seen]


# --- saving -----------------------------------------------------------------------------


async def editor_save(request: Request) -> Response:
    """One save of the page's script: operations since its last save, and its activity."""
    ctx, refused = guard(request, "minutes")
    if refused:
        return JSONResponse({"message": "ログインし直してください"}, status_code=403)
    body = await read_json(request, ctx, SAVE_LIMIT)
    if not isinstance(body, dict):
        raise HTTPException(400, "送られた内容を読めません")
    status, answer = await run_in_threadpool(_save, ctx, request.path_params["job_id"], body)
    return ctx.finish(JSONResponse(answer, status_code=status))


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key) or []
    if not isinstance(value, list):
        raise HTTPException(400, f"{key} が一覧ではありません")
    return value


def _save(ctx: Context, job_id: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from pilots.asr.activity import ActivityError, recent_tabs, record_activity
    from pilots.asr.editing import DocumentFinished, EditError, VersionConflict, save_edits

    settings = ctx.state.config.settings
    gap = settings.get("asr.idle_gap_seconds")
    tab = str(body.get("tab") or "")[:40]
    ops = _list(body, "ops")
    version = body.get("version")
    if ops and (isinstance(version, bool) or not isinstance(version, int)):
        return 400, {"message": "版の番号がありません"}
    # One transaction (one commit): the activity is kept even when the edits are refused.
    with ctx.state.session() as session:
        asr_id = _asr_job_id(find_job(session, ctx, job_id))
        try:
            record_activity(
                session,
                asr_id,
                tab=tab,
                user=ctx.user_name,
                moments=_list(body, "moments"),
                hidden=_list(body, "hidden"),
                idle_gap_seconds=gap,
            )
        except ActivityError as exc:
            return 400, {"message": str(exc)}
        now_ms = body.get("now")
        others = recent_tabs(session, asr_id, tab, now_ms, gap) if isinstance(now_ms, int) else 0
        if not ops:
            return 200, {"version": version, "times": {}, "others": others}
        try:
            with session.begin_nested():
                result = save_edits(
                    session,
                    asr_id,
                    expected_version=version,  # type: ignore[arg-type]
                    ops=ops,
                    tab=tab,
                    user=ctx.user_name,
                    now=db_now(session),
                )
        except VersionConflict as exc:
            return 409, {"message": str(exc), "version": exc.version, "others": others}
        except DocumentFinished as exc:
            return 409, {"message": str(exc), "finished": True, "others": others}
        except EditError as exc:
            return 400, {"message": str(exc)}
    return 200, {"version": result.version, "times": result.times, "others": others}


# --- 修正完了 and reopening ---------------------------------------------------------------


async def editor_finish(request: Request) -> Response:
    return await _change_state(request, finish=True)


async def editor_reopen(request: Request) -> Response:
    return await _change_state(request, finish=False)


async def _change_state(request: Request, *, finish: bool) -> Response:
    ctx, refused = guard(request, "minutes")
    if refused:
        return refused
    form = await read_form(request, ctx)
    job_id = request.path_params["job_id"]
    await run_in_threadpool(_state, ctx, job_id, form_text(form, "tab", 40), finish)
    return ctx.finish(RedirectResponse(f"/minutes/{job_id}/edit", status_code=303))


def _state(ctx: Context, job_id: int, tab: str, finish: bool) -> None:
    from pilots.asr.finishing import finish_editing, reopen_editing

    settings = ctx.state.config.settings
    try:
        with ctx.state.session() as session:
            asr_id = _asr_job_id(find_job(session, ctx, job_id))
            if not finish:
                reopen_editing(session, asr_id, by=ctx.user_name, tab=tab, now=db_now(session))
                message = "修正を再開しました（記録しました）。修正時間は前回までの分に足されます"
            else:
                result = finish_editing(
                    session,
                    asr_id,
                    by=ctx.user_name,
                    tab=tab,
                    now=db_now(session),
                    max_ratio=settings.get("asr.max_correction_ratio"),
                    default_rate=settings.get("default_baseline_rate"),
                )
                minutes = result.job.correction_minutes or 0.0
                message = f"修正完了を記録しました（修正時間 {minutes:.1f}分、エディタで計測）"
    except PilotsError as exc:
        ctx.flash("error", str(exc))
        return
    ctx.flash("info", message)


# --- the recording ----------------------------------------------------------------------


async def editor_audio(request: Request) -> Response:
    """The job's recording, with HTTP Range; ``?copy=play`` for the copy every browser plays."""
    ctx, refused = guard(request, "minutes")
    if refused:
        return refused
    copy = request.query_params.get("copy") == "play"
    path, media = await run_in_threadpool(_audio, ctx, request.path_params["job_id"], copy)
    headers = {"Cache-Control": "private, no-store"}
    return ctx.finish(FileResponse(path, media_type=media, headers=headers))


def _audio(ctx: Context, job_id: int, copy: bool) -> tuple[Path, str]:
    settings = ctx.state.config.settings
    with ctx.state.session() as session:
        recording = uploads.recording(session, settings.data_dir, find_job(session, ctx, job_id))
    if recording is None:
        raise HTTPException(404, "録音は削除されています")
    if copy:
        try:
            return playback.playable_copy(recording), playback.COPY_MEDIA_TYPE
        except PilotsError as exc:
            logger.warning("再生用の変換に失敗しました: ジョブ #%d: %s", job_id, exc)
            raise HTTPException(404, "この録音は再生用に変換できません") from None
    return recording, _media_type(recording).split(";")[0]


# --- the corrected minutes --------------------------------------------------------------


def editor_download(request: Request) -> Response:
    ctx, refused = guard(request, "minutes")
    if refused:
        return refused
    from pilots.asr.editing import load_document
    from pilots.asr.finishing import CORRECTED_FORMATS, corrected_minutes, corrected_transcript
    from pilots.asr.result import MeetingInfo
    from pilots.tables import AsrJob

    job_id = request.path_params["job_id"]
    fmt = request.path_params["fmt"]
    if fmt not in CORRECTED_FORMATS:
        raise HTTPException(404)
    with ctx.state.session() as session:
        job = find_job(session, ctx, job_id)
        asr_id = _asr_job_id(job)
        document = load_document(session, asr_id)
        measured = session.get(AsrJob, asr_id)
        if document is None or measured is None:
            raise HTTPException(404)
        transcript = corrected_transcript(
            document,
            audio_name=job.original_name,
            duration=measured.audio_seconds,
            model=measured.model or "",
            processing_seconds=measured.processing_seconds or 0.0,
            meeting=MeetingInfo(
                title=job.title,
                date=job.meeting_date,
                place=job.place,
                attendees=job.attendees,
                department=job.department,
            ),
        )
        name = Path(job.original_name).stem
    template_dir = ctx.state.config.settings.optional_path("template_dir")
    data = corrected_minutes(transcript, fmt, template_dir=template_dir)
    return ctx.finish(attachment(data, f"{name}_修正版.{fmt}", fmt, f"job{job_id}_corrected.{fmt}"))
