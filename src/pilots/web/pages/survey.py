"""満足度調査: survey exports uploaded, the satisfaction rate (SPEC §5), deleting a survey.

The figures come from :func:`pilots.survey.measure.summarize_survey`. When
the library cannot tell which column is the 5-point question, the page lists
the columns and the export waits, uploaded, for the user's choice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pilots.errors import PilotsError
from pilots.web import uploads
from pilots.web.context import Context, form_files, form_text, read_form, save_upload, with_form
from pilots.web.render import guard, render

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pilots.config import Settings

# The survey form's fields, by the option the library names in its messages.
_SURVEY_FIELDS = {"--survey": "調査名", "--question": "満足度の設問"}


def _survey_context(session: Session, settings: Settings, name: str | None) -> dict[str, Any]:
    from pilots.survey.measure import list_surveys, summarize_survey

    names = list_surveys(session)
    chosen = name if name in names else (names[0] if names else None)
    summary = None
    error = ""
    if chosen is not None:
        try:
            summary = summarize_survey(session, chosen, target=settings.get("satisfaction_target"))
        except PilotsError as exc:
            error = str(exc)
    return {"surveys": names, "chosen": chosen, "summary": summary, "summary_error": error}


def survey_page(request: Request) -> Response:
    ctx, refused = guard(request, "survey")
    if refused:
        return refused
    with ctx.state.session() as session:
        values = _survey_context(
            session, ctx.state.config.settings, request.query_params.get("name")
        )
    return render(ctx, "survey.html", result=None, choice=None, upload_errors=[], **values)


async def survey_upload(request: Request) -> Response:
    ctx, refused = guard(request, "survey")
    if refused:
        return refused
    form, values = await with_form(request, ctx, _survey_import)
    status = 400 if values["upload_errors"] or values["choice"] else 200
    typed = {"survey": form_text(form, "survey", 200)}
    return render(ctx, "survey.html", status, form=typed, **values)


def _survey_import(ctx: Context, form: FormData) -> dict[str, Any]:
    """Import the posted export, or the one uploaded before once its question is chosen."""
    from pilots.survey.ingest import QuestionNotChosen, default_survey_name, import_survey

    state = ctx.state
    errors: list[str] = []
    result = None
    choice = None
    name = form_text(form, "survey", 200)
    try:
        stored = _survey_file(ctx, form)
    except PilotsError as exc:
        errors.append(str(exc))
    else:
        try:
            with state.session() as session:
                result = import_survey(
                    session,
                    stored.path,
                    survey=name or default_survey_name(stored.original_name),
                    question=form_text(form, "question", 300) or None,
                )
        except QuestionNotChosen as exc:
            # The page lists the columns to choose from; the file stays uploaded for it.
            choice = {
                "upload": stored.stored_name,
                "name": stored.original_name,
                "problem": exc.problem,
                "choices": exc.choices,
            }
        except PilotsError as exc:
            errors.append(uploads.shown_text(_field_message(exc, _SURVEY_FIELDS), stored))
    with state.session() as session:
        values = _survey_context(session, state.config.settings, result.survey if result else None)
    return {**values, "result": result, "choice": choice, "upload_errors": errors}


def _survey_file(ctx: Context, form: FormData) -> uploads.StoredFile:
    """The export posted now, saved and recorded, or the one this user posted before."""
    state = ctx.state
    data_dir = state.config.settings.data_dir
    earlier = form_text(form, "upload", 64)
    if earlier:
        with state.session() as session:
            return uploads.find(session, data_dir, earlier, purpose="survey", user=ctx.user_name)
    files = form_files(form, "file")
    if not files:
        raise uploads.UploadError("ファイルを選んでください")
    stored = save_upload(ctx, files[0], {uploads.CSV, uploads.XLSX})
    with state.session() as session:
        uploads.record(session, stored, "survey", ctx.user_name)
    return stored


def _field_message(exc: PilotsError, fields: dict[str, str]) -> str:
    """A library error as a page says it: the option it names replaced by the field's label."""
    from pilots.errors import ConfigError

    text = str(exc)
    if isinstance(exc, ConfigError) and exc.option in fields:
        text = fields[exc.option] + text[len(exc.option) :]
    return text


async def survey_delete(request: Request) -> Response:
    """Delete a survey: the first post asks for confirmation, the second (confirm=1) deletes."""
    ctx, refused = guard(request, "survey")
    if refused:
        return refused
    form = await read_form(request, ctx)
    name, confirmed = form_text(form, "name", 200), form_text(form, "confirm", 1) == "1"
    await form.close()
    return await run_in_threadpool(_survey_delete, ctx, name, confirmed)


def _survey_delete(ctx: Context, name: str, confirmed: bool) -> Response:
    from pilots.survey.measure import delete_survey, summarize_survey

    try:
        with ctx.state.session() as session:
            if not confirmed:
                summary = summarize_survey(session, name, target=None)
                return render(ctx, "survey_delete.html", survey=summary)
            deleted = delete_survey(session, name)
    except PilotsError as exc:
        ctx.flash("error", str(exc))
    else:
        ctx.flash("info", f"調査「{deleted.name}」を削除しました（回答 {deleted.responses}件）")
    return ctx.finish(RedirectResponse("/survey", status_code=303))
