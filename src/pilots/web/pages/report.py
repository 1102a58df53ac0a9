"""効果測定レポート: the report of a period, seen or downloaded, and the plans it reads (SPEC §6).

The report is built by :func:`pilots.report.build.prepare_report` and written
by :mod:`pilots.report.writers`, as ``pilots report`` writes it; the page
only chooses the period, the survey and the format.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pilots.errors import PilotsError
from pilots.web import uploads
from pilots.web.context import Context, State, form_files, period_args, read_form
from pilots.web.middleware import REPORT_CSP
from pilots.web.render import attachment, guard, render

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

PLAN_LIMIT = 1024 * 1024  # a plan file is a few kilobytes of YAML


def _report_args(request: Request) -> tuple[str | None, bool]:
    """The survey chosen for the satisfaction indicators, and whether a projection is wanted."""
    survey = request.query_params.get("survey", "").strip()[:200] or None
    return survey, request.query_params.get("projection") == "1"


def _report_page_values(session: Session, request: Request) -> dict[str, Any]:
    from pilots.calendar import format_fiscal_year, period
    from pilots.report.plan_store import latest_plan_year, plan_versions
    from pilots.survey.measure import surveys_in_period

    fiscal_year, kind, as_of, error = period_args(request)
    if "fy" not in request.query_params:
        fiscal_year = latest_plan_year(session) or fiscal_year
    survey, projection = _report_args(request)
    try:
        chosen = period(fiscal_year, kind, as_of)
        found = surveys_in_period(session, chosen.start, chosen.end)
    except PilotsError:
        found = []
    query = {"fy": str(fiscal_year), "period": kind}
    if as_of:
        query["as_of"] = as_of.isoformat()
    if survey:
        query["survey"] = survey
    if projection:
        query["projection"] = "1"
    return {
        "fy": fiscal_year,
        "fy_label": format_fiscal_year(fiscal_year),
        "period": kind,
        "as_of": as_of.isoformat() if as_of else "",
        "period_error": error,
        "plans": plan_versions(session, fiscal_year),
        "surveys_found": found,
        "survey": survey or "",
        "projection": projection,
        "query": "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items()),
        "extra_fields": "_report_options.html",
    }


def report_page(request: Request) -> Response:
    ctx, refused = guard(request, "report")
    if refused:
        return refused
    with ctx.state.session() as session:
        values = _report_page_values(session, request)
    return render(ctx, "report.html", plan_errors=[], **values)


def _build_report(state: State, request: Request) -> Any:
    from pilots import calendar
    from pilots.report.build import prepare_report

    fiscal_year, kind, as_of, _error = period_args(request)
    survey, projection = _report_args(request)
    with state.session() as session:
        return prepare_report(
            session,
            calendar.period(fiscal_year, kind, as_of),
            plan_file=None,
            as_of_given=as_of is not None,
            projection=projection,
            survey_choice=survey,
            default_baseline_rate=state.config.settings.get("default_baseline_rate"),
            today=calendar.today(),
        )


def _report_error(ctx: Context, request: Request, message: str) -> Response:
    with ctx.state.session() as session:
        values = _report_page_values(session, request)
    values["period_error"] = message
    return render(ctx, "report.html", 400, plan_errors=[], **values)


def report_view(request: Request) -> Response:
    ctx, refused = guard(request, "report")
    if refused:
        return refused
    from pilots.report.writers import render_html

    _fy, _kind, _as_of, error = period_args(request)
    if error:
        return _report_error(ctx, request, error)
    try:
        report = _build_report(ctx.state, request)
    except PilotsError as exc:
        return _report_error(ctx, request, str(exc))
    template_dir = ctx.state.config.settings.optional_path("template_dir")
    response = HTMLResponse(render_html(report, template_dir=template_dir))
    response.headers["Content-Security-Policy"] = REPORT_CSP
    return ctx.finish(response)


def report_download(request: Request) -> Response:
    ctx, refused = guard(request, "report")
    if refused:
        return refused
    from pilots.report.writers import write_report

    fmt = request.query_params.get("format", "html")
    if fmt not in ("html", "xlsx", "md"):
        raise HTTPException(404)
    _fy, _kind, _as_of, error = period_args(request)
    if error:
        return _report_error(ctx, request, error)
    try:
        report = _build_report(ctx.state, request)
        with tempfile.TemporaryDirectory(prefix="pilots-report-") as folder:
            template_dir = ctx.state.config.settings.optional_path("template_dir")
            (path,) = write_report(report, Path(folder), [fmt], template_dir=template_dir)
            data = path.read_bytes()
            name = path.name
    except PilotsError as exc:
        return _report_error(ctx, request, str(exc))
    return ctx.finish(attachment(data, name, fmt, name))


async def report_plan_upload(request: Request) -> Response:
    ctx, refused = guard(request, "report")
    if refused:
        return refused
    form = await read_form(request, ctx)
    try:
        files = form_files(form, "plan")
        data = b""
        if files:
            data = await files[0].read(PLAN_LIMIT + 1)
        name = uploads.display_name(files[0].filename if files else "")
    finally:
        await form.close()
    error = ""
    result = None
    if not files:
        error = "計画ファイル（YAML）を選んでください"
    elif len(data) > PLAN_LIMIT:
        error = f"{name}: 計画ファイルが大きすぎます（上限 {uploads.format_mb(PLAN_LIMIT)} MB）"
    else:
        result, error = await run_in_threadpool(_import_plan, ctx, data, name)
    if result is None:
        with ctx.state.session() as session:
            values = _report_page_values(session, request)
        return render(ctx, "report.html", 400, plan_errors=[error], **values)
    from pilots.calendar import format_fiscal_year

    year = format_fiscal_year(result.fiscal_year)
    ctx.flash(
        "info",
        f"{name}: {year}の計画を版 {result.version} として取り込みました"
        if result.added
        else f"{name}: {year}の計画の版 {result.version} と同じ内容です（変更なし）",
    )
    return ctx.finish(RedirectResponse(f"/report?fy={result.fiscal_year}", status_code=303))


def _import_plan(ctx: Context, data: bytes, name: str) -> tuple[Any, str]:
    from pilots.report.plan import decode_plan
    from pilots.report.plan_store import import_plan_text

    try:
        with ctx.state.session() as session:
            return (
                import_plan_text(session, decode_plan(data, name), name, imported_by=ctx.user_name),
                "",
            )
    except PilotsError as exc:
        return None, str(exc)


def report_plan_download(request: Request) -> Response:
    ctx, refused = guard(request, "report")
    if refused:
        return refused
    from pilots.report.plan_store import stored_plan

    try:
        fiscal_year = int(request.query_params.get("fy", ""))
        version = (
            int(request.query_params["version"]) if "version" in request.query_params else None
        )
    except ValueError:
        raise HTTPException(404) from None
    try:
        with ctx.state.session() as session:
            found, text = stored_plan(session, fiscal_year, version)
    except PilotsError as exc:
        return _report_error(ctx, request, str(exc))
    name = f"plan_fy{found.fiscal_year}_v{found.version}.yaml"
    return ctx.finish(attachment(text.encode("utf-8"), name, "yaml", name))
