"""RPA: the task catalog and the run logs uploaded, the hours reduced, the operations (SPEC §4).

The figures, and what they leave out (:class:`pilots.rpa.measure.Exclusion`,
with their Japanese labels), come from :func:`pilots.rpa.measure.summarize`;
the operational issues from :func:`pilots.rpa.issues.summarize_issues`, the
RPA team's register from :mod:`pilots.rpa.register`, next year's tasks from
:mod:`pilots.rpa.candidates` (the work survey) and :mod:`pilots.rpa.selection`.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pilots.errors import PilotsError
from pilots.web import uploads
from pilots.web.context import Context, form_files, form_text, period_args, save_upload, with_form
from pilots.web.render import guard, render

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pilots.calendar import Period
    from pilots.config import Settings

# Rejected rows are listed on the page this many at a time (``?rejects=N`` turns the pages).
REJECTS_SHOWN = 200
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8（BOM付き）", "cp932": "Shift_JIS（CP932）"}


def _rpa_context(
    session: Session, request: Request, settings: Settings, edit: int | None = None
) -> dict[str, Any]:
    from pilots.calendar import period
    from pilots.rpa.catalog import list_tasks
    from pilots.rpa.measure import latest_fiscal_year, summarize

    fiscal_year, kind, as_of, error = period_args(request)
    if "fy" not in request.query_params:
        # Open on the latest year with runs: logs of past years are imported afterwards.
        fiscal_year = latest_fiscal_year(session) or fiscal_year
    summary = None
    operations: dict[str, Any] = {}
    try:
        chosen = period(fiscal_year, kind, as_of)
        summary = summarize(session, chosen, target_rate=settings.get("rpa_target_rate"))
        operations = _operations(session, chosen, settings, edit or _edit_number(request))
    except PilotsError as exc:
        error = str(exc)
    return {
        **operations,
        "tasks": list_tasks(session),
        "summary": summary,
        **_rejects_page(session, request, settings.data_dir),
        "fy": fiscal_year,
        "period": kind,
        "as_of": as_of.isoformat() if as_of else "",
        "period_error": error,
        "rpa_formats": _rpa_formats(),
        "encoding_labels": ENCODING_LABELS,
    }


# Failure groups listed on the page (the most hours lost first).
GROUPS_SHOWN = 20


def _edit_number(request: Request) -> int | None:
    """The register entry chosen for editing (``?edit=N``)."""
    text = request.query_params.get("edit", "")
    return int(text) if text.isdecimal() and len(text) < 10 else None


def _operations(
    session: Session, chosen: Period, settings: Settings, edit: int | None
) -> dict[str, Any]:
    """The operational issues, the register and next year's tasks of the period shown.

    ``editing`` holds the stored fields of the entry being edited (as stored,
    not as of the period's end), None when a new entry is being written.
    """
    from pilots.calendar import today
    from pilots.rpa.candidates import kept_survey
    from pilots.rpa.issues import summarize_issues
    from pilots.rpa.register import STATES, stored_issue, summarize_register
    from pilots.rpa.selection import chosen_candidates, decision_day

    editing = None
    if edit is not None:
        try:
            editing = {"number": edit, **asdict(stored_issue(session, edit))}
        except PilotsError:
            editing = None

    issues = summarize_issues(
        session,
        chosen,
        alpha=settings.get("rpa.terminal_alpha"),
        min_runs=settings.get("rpa.terminal_min_runs"),
    )
    errors = {g.error_code or g.error or "" for g in issues.groups}
    return {
        "issues": issues,
        "groups_shown": issues.groups[:GROUPS_SHOWN],
        "register": summarize_register(session, chosen, issues.groups),
        "states": STATES,
        "known_errors": sorted(e for e in errors if e),
        "known_terminals": [t.terminal for t in issues.terminals],
        "chosen": chosen_candidates(session, chosen.fiscal_year),
        "survey_tasks": kept_survey(session),
        "decision_day": decision_day(chosen.fiscal_year, today()).isoformat(),
        "editing": editing,
    }


def _rejects_page(session: Session, request: Request, data_dir: Path) -> dict[str, Any]:
    """One page (``?rejects=N``) of the stored rejected rows, with the names files were sent as."""
    from pilots.rpa.ingest import list_rejects

    every = list_rejects(session)
    pages = max(1, math.ceil(len(every) / REJECTS_SHOWN))
    try:
        shown = min(max(int(request.query_params.get("rejects", "1")), 1), pages)
    except ValueError:
        shown = 1
    first = (shown - 1) * REJECTS_SHOWN
    names = uploads.original_names(session, data_dir)
    return {
        # A file not uploaded here (imported on the command line) is named without its folder.
        "rejects": [
            {**asdict(r), "file": names.get(r.file, Path(r.file).name)}
            for r in every[first : first + REJECTS_SHOWN]
        ],
        "rejects_total": len(every),
        "rejects_page": shown,
        "rejects_pages": pages,
        "rejects_first": first + 1,
        "rejects_shown": REJECTS_SHOWN,
    }


def _rpa_formats() -> dict[str, str]:
    """The run log formats by their ``--format`` name, with their labels (自動判別 first)."""
    from pilots.rpa.formats import FORMAT_NAMES, get_format

    return {"auto": "自動判別（見出しから）", **{n: get_format(n).label for n in FORMAT_NAMES}}


def rpa_page(request: Request) -> Response:
    ctx, refused = guard(request, "rpa")
    if refused:
        return refused
    with ctx.state.session() as session:
        values = _rpa_context(session, request, ctx.state.config.settings)
    return render(ctx, "rpa.html", results=None, catalog=None, upload_errors=[], **values)


async def rpa_upload(request: Request) -> Response:
    ctx, refused = guard(request, "rpa")
    if refused:
        return refused
    what = request.path_params["what"]
    if what not in ("catalog", "runs", "survey"):
        raise HTTPException(404)
    form, values = await with_form(request, ctx, _rpa_import, request, what)
    status = 400 if values.get("upload_errors") else 200
    return render(ctx, "rpa.html", status, form={"format": form_text(form, "format", 20)}, **values)


def _rpa_import(ctx: Context, form: FormData, request: Request, what: str) -> dict[str, Any]:
    from pilots.rpa.candidates import rank_candidates
    from pilots.rpa.catalog import import_catalog
    from pilots.rpa.ingest import ingest_file, list_rejects
    from pilots.rpa.logfile import check_files

    state = ctx.state
    files = form_files(form, "file")
    errors: list[str] = []
    results: list[dict[str, Any]] = []
    catalog = None
    survey = None
    if not files:
        errors.append("ファイルを選んでください")
    fmt = form_text(form, "format", 20) or "auto"
    if fmt not in _rpa_formats():
        errors.append(f"知らない形式です: {fmt}")
        files = []
    if what != "runs":
        files = files[:1]
    for upload in files:
        try:
            stored = save_upload(ctx, upload, {uploads.CSV, uploads.XLSX})
        except PilotsError as exc:
            errors.append(str(exc))
            continue
        try:
            with state.session() as session:
                uploads.record(session, stored, f"rpa_{what}", ctx.user_name)
            with state.session() as session:
                if what == "catalog":
                    catalog = import_catalog(session, stored.path)
                elif what == "survey":
                    rate = state.config.settings.get("rpa_target_rate")
                    survey = rank_candidates(stored.path, rate=rate, session=session, keep=True)
                else:
                    check_files([stored.path], fmt)
                    result = ingest_file(session, stored.path, fmt, file_name=stored.original_name)
                    rejects = list_rejects(session, file=str(stored.path))
                    results.append(
                        {"name": stored.original_name, "result": result, "rejects": rejects}
                    )
        except PilotsError as exc:
            errors.append(uploads.shown_text(str(exc), stored))
    with state.session() as session:
        values = _rpa_context(session, request, state.config.settings)
    return {
        **values,
        "results": results,
        "catalog": catalog,
        "survey": survey,
        "upload_errors": errors,
    }


# The register's form fields, by the names of :class:`pilots.rpa.register.IssueFields`.
ISSUE_TEXT_FIELDS = ("title", "cause", "action", "owner", "state")
ISSUE_LINK_FIELDS = ("task_id", "scenario", "error", "terminal")
ISSUE_DATE_FIELDS = {"found_on": "発見日", "resolved_on": "解決日"}


async def rpa_issue(request: Request) -> Response:
    """Add an entry to the register (``/rpa/issues``) or change one (``/rpa/issues/{number}``)."""
    ctx, refused = guard(request, "rpa")
    if refused:
        return refused
    number = request.path_params.get("number")
    form, outcome = await with_form(request, ctx, _save_issue, number)
    if isinstance(outcome, str):
        ctx.flash("info", outcome)
        return ctx.finish(RedirectResponse(_back(form, "register"), status_code=303))
    values = await run_in_threadpool(_page_values, ctx, request, number)
    typed = {name: form_text(form, name, 2000) for name in (*ISSUE_TEXT_FIELDS, *ISSUE_LINK_FIELDS)}
    typed |= {name: form_text(form, name, 40) for name in ISSUE_DATE_FIELDS}
    return render(
        ctx,
        "rpa.html",
        400,
        results=None,
        catalog=None,
        upload_errors=[],
        issue_error={"number": number, "message": outcome.message},
        issue_form={"number": number, **typed},
        **values,
    )


def _page_values(ctx: Context, request: Request, number: int | None) -> dict[str, Any]:
    """The page's figures (seconds on a million runs: off the event loop)."""
    with ctx.state.session() as session:
        return _rpa_context(session, request, ctx.state.config.settings, number)


def _back(form: FormData, anchor: str) -> str:
    """The RPA page of the period the form was sent from, at ``anchor``."""
    from urllib.parse import urlencode

    query = {k: form_text(form, k, 20) for k in ("fy", "period", "as_of") if form_text(form, k, 20)}
    return f"/rpa?{urlencode(query)}#{anchor}" if query else f"/rpa#{anchor}"


def _save_issue(ctx: Context, form: FormData, number: int | None) -> str | PilotsError:
    """Store the posted entry; the message to show, or the error to show beside the form."""
    from pilots.calendar import parse_date
    from pilots.errors import ConfigError
    from pilots.rpa.register import RESOLVED, IssueFields, add_issue, update_issue

    values: dict[str, Any] = {name: form_text(form, name, 2000) for name in ISSUE_TEXT_FIELDS}
    values |= {name: form_text(form, name, 2000) for name in ISSUE_LINK_FIELDS}
    try:
        for name, label in ISSUE_DATE_FIELDS.items():
            text = form_text(form, name, 40)
            try:
                values[name] = parse_date(text) if text else None
            except PilotsError as exc:
                raise ConfigError(label, str(exc)) from None
        if values["state"] != RESOLVED:
            # The form keeps the date of a resolution it reopens: it no longer applies.
            values["resolved_on"] = None
        given = IssueFields(**values)
        with ctx.state.session() as session:
            if number is None:
                number = add_issue(session, given, by=ctx.user_name)
                return f"課題 No.{number} を登録しました"
            update_issue(session, number, given, by=ctx.user_name)
            return f"課題 No.{number} を更新しました"
    except PilotsError as exc:
        return exc


async def rpa_candidates(request: Request) -> Response:
    """Record the tasks chosen for the next fiscal year (``/rpa/candidates``)."""
    ctx, refused = guard(request, "rpa")
    if refused:
        return refused
    form, outcome = await with_form(request, ctx, _choose)
    ctx.flash("info" if isinstance(outcome, str) else "error", str(outcome))
    return ctx.finish(RedirectResponse(_back(form, "candidates"), status_code=303))


def _choose(ctx: Context, form: FormData) -> str | PilotsError:
    from pilots.calendar import format_fiscal_year, parse_date
    from pilots.errors import ConfigError
    from pilots.rpa.selection import select_candidates

    chosen = [t for t in form.getlist("task") if isinstance(t, str)]
    chosen += form_text(form, "other", 2000).replace("、", " ").replace(",", " ").split()
    try:
        try:
            fiscal_year = int(form_text(form, "fy", 10))
        except ValueError:
            raise ConfigError("年度", "年度を西暦で入れてください") from None
        try:
            day = parse_date(form_text(form, "chosen_on", 40))
        except PilotsError as exc:
            raise ConfigError("選定日", str(exc)) from None
        with ctx.state.session() as session:
            selection = select_candidates(
                session, fiscal_year, chosen, chosen_on=day, chosen_by=ctx.user_name
            )
    except PilotsError as exc:
        return exc
    return (
        f"{format_fiscal_year(fiscal_year)}に選定した"
        f"{format_fiscal_year(selection.for_year)}の候補を記録しました（{selection.text}）"
    )
