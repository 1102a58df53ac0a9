"""議事録作成: recordings into the queue, the jobs of a department, drafts and correction times.

A correction time typed on this page is self-reported (SPEC §3); a corrected
minutes file (docx, md, txt) sent with it is compared with the draft for the
draft accuracy (:mod:`pilots.asr.corrected`, :mod:`pilots.asr.corrections`).

Recordings go into the queue of :mod:`pilots.web.queue`, never transcribed
inside a request; the worker (:mod:`pilots.web.worker`) drafts them. A clerk
sees the jobs of their own department only (:func:`find_job`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from pilots.errors import PilotsError
from pilots.text import normalize_name
from pilots.web import queue, uploads
from pilots.web.context import Context, form_files, form_text, read_form, save_upload, with_form
from pilots.web.render import attachment, guard, render

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pilots.asr.corrected import CorrectedMinutes
    from pilots.tables import WebJob

logger = logging.getLogger("pilots")

MINUTES_FORMATS = ("docx", "md", "txt", "srt")
GLOSSARY_LIMIT = 1024 * 1024
MATERIALS_LIMIT = 20 * 1024 * 1024  # one handout: a Word or PDF agenda with a few pictures
MATERIALS_COUNT = 10
CORRECTED_LIMIT = 20 * 1024 * 1024  # a corrected minutes file: Word with a few pictures
# The header of the minutes as the clerk typed it: kept in the form when an upload is refused.
_MINUTES_FIELDS = {
    "department": 200,
    "title": 300,
    "date": 40,
    "place": 300,
    "attendees": 1000,
    "speakers": 8,
}


def _in_department(job: WebJob, department: str) -> bool:
    """Whether ``job`` is of ``department`` (NFKC compared); any job when it is empty."""
    return not department or normalize_name(job.department) == normalize_name(department)


def find_job(session: Session, ctx: Context, job_id: int) -> WebJob:
    """The queue job ``job_id``, when the user may see it (a clerk: their department's).

    Raises:
        HTTPException: 404, also for another department's job (its existence is not told).
    """
    from pilots.tables import WebJob

    assert ctx.user is not None
    job = session.get(WebJob, job_id)
    if job is None or not _in_department(job, ctx.user.department):
        raise HTTPException(404)
    return job


def minutes_page(request: Request) -> Response:
    ctx, refused = guard(request, "minutes")
    if refused:
        return refused
    return render(ctx, "minutes.html", **_minutes_values(ctx, request))


def _minutes_values(ctx: Context, request: Request) -> dict[str, Any]:
    from pilots.asr.corrections import SOURCE_LABELS
    from pilots.org import list_departments
    from pilots.tables import AsrJob, WebJob

    assert ctx.user is not None
    # A clerk sees their department's jobs; others may choose one (?dept=).
    dept = ctx.user.department or request.query_params.get("dept", "").strip()[:200]
    with ctx.state.session() as session:
        query = select(WebJob).order_by(WebJob.id.desc()).limit(200)
        jobs = [j for j in session.scalars(query) if _in_department(j, dept)]
        formats = queue.output_formats(session, [j.id for j in jobs if j.state == queue.DONE])
        asr_ids = [j.asr_job_id for j in jobs if j.asr_job_id]
        # The measurement records (pilots asr jobs): correction time, no-speech flag.
        measured = {a.id: a for a in session.scalars(select(AsrJob).where(AsrJob.id.in_(asr_ids)))}
        # The jobs the correction editor opens: those with a draft kept, and with speech.
        editable = set(
            session.scalars(
                select(AsrJob.id).where(
                    AsrJob.id.in_(asr_ids),
                    AsrJob.draft_json.is_not(None),
                    AsrJob.no_speech.is_(False),
                )
            )
        )
        departments = [d.name for d in list_departments(session)]
    settings = ctx.state.config.settings
    return {
        "jobs": jobs,
        "formats": formats,
        "measured": measured,
        "editable": editable,
        "source_labels": SOURCE_LABELS,
        "departments": departments,
        "dept": dept,
        "states": queue.STATES,
        "finished": (queue.DONE, queue.FAILED),
        "limit_mb": settings.get("upload_limit_mb"),
        "retention_days": settings.get("recording_retention_days"),
        "duplicate_minutes": settings.get("upload_duplicate_minutes"),
        "default_department": ctx.user.department,
    }


async def minutes_upload(request: Request) -> Response:
    ctx, refused = guard(request, "minutes")
    if refused:
        return refused
    form, accepted = await with_form(request, ctx, _enqueue_recordings)
    # app.js sends the form itself (to show the upload's progress) and is answered in JSON:
    # where to go once accepted, or what was refused — the form, as typed, stays on its page.
    xhr = request.headers.get("x-pilots-upload") == "1"
    if accepted:
        if xhr:
            return ctx.finish(JSONResponse({"location": "/minutes"}))
        return ctx.finish(RedirectResponse("/minutes", status_code=303))
    if xhr:
        messages = [text for _kind, text in ctx.take_flashes()]
        return ctx.finish(JSONResponse({"messages": messages}, status_code=400))
    typed = {name: form_text(form, name, limit) for name, limit in _MINUTES_FIELDS.items()}
    values = await run_in_threadpool(_minutes_values, ctx, request)
    return render(ctx, "minutes.html", 400, form=typed, **values)


def _enqueue_recordings(ctx: Context, form: FormData) -> bool:
    """Queue the posted recordings; False when something was refused (said in a flash)."""
    from pilots.asr.speakers import check_speakers
    from pilots.calendar import parse_date

    assert ctx.user is not None
    state = ctx.state
    department = ctx.user.department or form_text(form, "department", 200)
    title = form_text(form, "title", 300)
    meeting_date = None
    date_text = form_text(form, "date", 40)
    if date_text:
        try:
            meeting_date = parse_date(date_text)
        except PilotsError as exc:
            ctx.flash("error", f"会議の日付: {exc}")
            return False
    try:
        speakers = check_speakers(form_text(form, "speakers", 8) or "auto")
    except PilotsError:
        ctx.flash("error", "話者の区別: 自動、区別しない、または人数を選んでください")
        return False
    recordings = form_files(form, "audio")
    if not recordings:
        ctx.flash("error", "録音ファイルを選んでください")
        return False
    glossary = None
    glossary_files = form_files(form, "glossary")
    if glossary_files:
        try:
            glossary = _read_glossary(ctx, glossary_files[0])
        except PilotsError as exc:
            ctx.flash("error", str(exc))
            return False
    try:
        materials = _read_materials(form_files(form, "materials"))
    except PilotsError as exc:
        ctx.flash("error", str(exc))
        return False
    accepted = True
    for upload in recordings:
        try:
            stored = save_upload(ctx, upload, {uploads.AUDIO})
        except PilotsError as exc:
            ctx.flash("error", str(exc))
            accepted = False
            continue
        window = state.config.settings.get("upload_duplicate_minutes")
        with state.session() as session:
            same = queue.recent_duplicate(session, stored.sha256, department, minutes=window)
            if same is None:
                row = uploads.record(session, stored, "minutes", ctx.user_name)
                with stored.path.open("rb") as audio:
                    job_id = queue.enqueue(
                        session,
                        queue.NewJob(
                            original_name=stored.original_name,
                            department=department,
                            title=title or Path(stored.original_name).stem,
                            meeting_date=meeting_date,
                            place=form_text(form, "place", 300),
                            attendees=form_text(form, "attendees", 1000),
                            glossary=glossary,
                            materials=materials,
                            formats=MINUTES_FORMATS,
                            speakers=speakers,
                            audio_seconds=stored.audio_seconds,
                            submitted_by=ctx.user_name,
                            upload_id=row.id,
                        ),
                        audio,
                    )
        if same is None:
            ctx.flash("info", f"{stored.original_name}: 受け付けました（ジョブ #{job_id}）")
            continue
        # The same file again (a double click, a form sent twice): one job, one transcription.
        stored.path.unlink(missing_ok=True)
        ctx.flash(
            "info",
            f"{stored.original_name}: 同じ所属から{window:g}分以内に同じ録音が送られているため、"
            f"ジョブ #{same} として扱います（二重には文字起こししません）",
        )
    return accepted


def _read_glossary(ctx: Context, upload: UploadFile) -> str:
    """The glossary's text, checked by loading it as the worker will."""
    from pilots.asr.glossary import Glossary
    from pilots.tabular import decode

    stored = save_upload(ctx, upload, {uploads.TEXT}, GLOSSARY_LIMIT)
    try:
        text, _encoding = decode(stored.path, stored.path.read_bytes())
        try:
            Glossary.load(stored.path)
        except PilotsError as exc:
            raise uploads.UploadError(uploads.shown_text(str(exc), stored)) from None
        return text
    finally:
        stored.path.unlink(missing_ok=True)


def _read_materials(files: list[UploadFile]) -> tuple[tuple[str, bytes], ...]:
    """The handouts (会議資料) sent with the recordings, each checked by reading its text.

    Raises:
        UploadError: too many, too large, of another kind or unreadable; names the file.
    """
    import tempfile

    from pilots.asr.materials import read_material

    if len(files) > MATERIALS_COUNT:
        raise uploads.UploadError(f"会議資料は{MATERIALS_COUNT}件までにしてください")
    materials: list[tuple[str, bytes]] = []
    for upload in files:
        name = Path(upload.filename or "資料").name[:200]
        data = upload.file.read(MATERIALS_LIMIT + 1)
        if len(data) > MATERIALS_LIMIT:
            raise uploads.UploadError(
                f"会議資料 {name}: {MATERIALS_LIMIT // 2**20} MB を超えるファイルは使えません"
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"material{Path(name).suffix.lower()}"
            path.write_bytes(data)
            try:
                read_material(path)
            except PilotsError as exc:
                reason = getattr(exc, "reason", str(exc))
                raise uploads.UploadError(f"会議資料 {name}: {reason}") from None
        materials.append((name, data))
    return tuple(materials)


def minutes_status(request: Request) -> Response:
    """The state and progress of the jobs asked for (``?ids=1,2``), in JSON, for app.js."""
    ctx, refused = guard(request, "minutes")
    if refused:
        return JSONResponse({"error": "forbidden"}, status_code=403)
    from pilots.tables import WebJob

    assert ctx.user is not None
    try:
        ids = [int(x) for x in request.query_params.get("ids", "").split(",") if x][:200]
    except ValueError:
        return JSONResponse({"error": "bad ids"}, status_code=400)
    with ctx.state.session() as session:
        jobs = list(session.scalars(select(WebJob).where(WebJob.id.in_(ids))))
        found = [
            {
                "id": j.id,
                "state": j.state,
                "label": queue.STATES.get(j.state, j.state),
                "progress": round(j.progress, 3),
            }
            for j in jobs
            if _in_department(j, ctx.user.department)
        ]
    return ctx.finish(JSONResponse({"jobs": found}))


def minutes_download(request: Request) -> Response:
    ctx, refused = guard(request, "minutes")
    if refused:
        return refused
    job_id = request.path_params["job_id"]
    fmt = request.path_params["fmt"]
    if fmt not in MINUTES_FORMATS:
        raise HTTPException(404)
    with ctx.state.session() as session:
        job = find_job(session, ctx, job_id)
        data = queue.output(session, job_id, fmt)
        name = job.original_name
    if data is None:
        raise HTTPException(404)
    return ctx.finish(attachment(data, f"{Path(name).stem}.{fmt}", fmt, f"job{job_id}.{fmt}"))


async def minutes_correction(request: Request) -> Response:
    ctx, refused = guard(request, "minutes")
    if refused:
        return refused
    job_id = request.path_params["job_id"]
    form, recorded = await with_form(request, ctx, _record_correction, job_id)
    if recorded:
        return ctx.finish(RedirectResponse("/minutes", status_code=303))
    typed = {f"minutes-{job_id}": form_text(form, "minutes", 20)}
    values = await run_in_threadpool(_minutes_values, ctx, request)
    return render(ctx, "minutes.html", 400, form=typed, **values)


def _corrected_text(form: FormData) -> CorrectedMinutes | None:
    """The body of the corrected minutes posted with the time, if a file was chosen.

    Raises:
        PilotsError: the file is too large, or not minutes the accuracy can read.
    """
    from pilots.asr.corrected import parse_corrected

    files = form_files(form, "corrected")
    if not files:
        return None
    name = uploads.display_name(files[0].filename)
    files[0].file.seek(0)
    data = files[0].file.read(CORRECTED_LIMIT + 1)
    if len(data) > CORRECTED_LIMIT:
        raise uploads.UploadTooLarge(
            f"{name}: ファイルが大きすぎます（上限 {uploads.format_mb(CORRECTED_LIMIT)} MB）"
        )
    return parse_corrected(data, name)


def _record_correction(ctx: Context, form: FormData, job_id: int) -> bool:
    """Record the posted correction time (and accuracy); False when refused (said in a flash)."""
    from pilots.asr.corrections import SELF_REPORTED, finish_correction

    text = form_text(form, "minutes", 40)
    try:
        minutes = float(text)
    except ValueError:
        ctx.flash("error", f"ジョブ #{job_id}: 修正時間は分数（例: 35）で入力してください: {text}")
        return False
    try:
        corrected = _corrected_text(form)
    except PilotsError as exc:
        ctx.flash("error", f"ジョブ #{job_id}: 修正後の議事録: {exc}")
        return False
    settings = ctx.state.config.settings
    with ctx.state.session() as session:
        job = find_job(session, ctx, job_id)
        if job.asr_job_id is None:
            ctx.flash("error", f"ジョブ #{job_id} はまだ完了していません")
            return False
        try:
            result = finish_correction(
                session,
                job.asr_job_id,
                corrected_text=corrected.text if corrected is not None else None,
                minutes=minutes,
                source=SELF_REPORTED,
                default_rate=settings.get("default_baseline_rate"),
                max_ratio=settings.get("asr.max_correction_ratio"),
                finished_by=ctx.user_name,
                corrected_file=corrected.name if corrected is not None else "",
            )
        except PilotsError as exc:
            ctx.flash("error", f"ジョブ #{job_id}: {exc}")
            return False
    accuracy = result.job.accuracy
    said = f"ジョブ #{job_id}: 修正時間 {minutes:g}分を記録しました（自己申告）"
    if result.accuracy_note:
        said += f"。{result.accuracy_note}"
    elif result.compared and accuracy is not None and accuracy.cer is not None:
        said += (
            f"。認識精度 {1 - accuracy.cer:.1%}（文字誤り率 {accuracy.cer:.1%}、"
            f"修正後 {accuracy.characters:,}文字）"
        )
    ctx.flash("info", said)
    return True


async def minutes_delete_recording(request: Request) -> Response:
    ctx, refused = guard(request, "minutes")
    if refused:
        return refused
    await read_form(request, ctx)
    await run_in_threadpool(_delete_recording, ctx, request.path_params["job_id"])
    return ctx.finish(RedirectResponse("/minutes", status_code=303))


def _delete_recording(ctx: Context, job_id: int) -> None:
    with ctx.state.session() as session:
        job = find_job(session, ctx, job_id)
        if job.state not in (queue.DONE, queue.FAILED):
            ctx.flash("error", f"ジョブ #{job_id}: 文字起こしが終わるまで録音は削除できません")
            return
        if job.recording_deleted_at is None:
            freed = uploads.delete_recording(session, ctx.state.config.settings.data_dir, job)
            logger.info(
                "録音を削除しました（%s の操作）: ジョブ #%d %s、%s MB",
                ctx.user_name,
                job_id,
                job.original_name,
                uploads.format_mb(freed),
            )
    ctx.flash(
        "info",
        f"ジョブ #{job_id}: 録音を削除しました（議事録案と効果測定の記録は残ります）",
    )
