"""RPA: the task catalog and the run logs uploaded, and the hours reduced (SPEC §4).

The figures, and what they leave out (:class:`pilots.rpa.measure.Exclusion`,
with their Japanese labels), come from :func:`pilots.rpa.measure.summarize`.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from pilots.errors import PilotsError
from pilots.web import uploads
from pilots.web.context import Context, form_files, form_text, period_args, save_upload, with_form
from pilots.web.render import guard, render

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pilots.config import Settings

# Rejected rows are listed on the page this many at a time (``?rejects=N`` turns the pages).
REJECTS_SHOWN = 200
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8（BOM付き）", "cp932": "Shift_JIS（CP932）"}


def _rpa_context(session: Session, request: Request, settings: Settings) -> dict[str, Any]:
    from pilots.calendar import period
    from pilots.rpa.catalog import list_tasks
    from pilots.rpa.measure import latest_fiscal_year, summarize

    fiscal_year, kind, as_of, error = period_args(request)
    if "fy" not in request.query_params:
        # Open on the latest year with runs: logs of past years are imported afterwards.
        fiscal_year = latest_fiscal_year(session) or fiscal_year
    summary = None
    try:
        summary = summarize(
            session,
            period(fiscal_year, kind, as_of),
            target_rate=settings.get("rpa_target_rate"),
        )
    except PilotsError as exc:
        error = str(exc)
    return {
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
    if what not in ("catalog", "runs"):
        raise HTTPException(404)
    form, values = await with_form(request, ctx, _rpa_import, request, what)
    status = 400 if values.get("upload_errors") else 200
    return render(ctx, "rpa.html", status, form={"format": form_text(form, "format", 20)}, **values)


def _rpa_import(ctx: Context, form: FormData, request: Request, what: str) -> dict[str, Any]:
    from pilots.rpa.catalog import import_catalog
    from pilots.rpa.ingest import ingest_file, list_rejects
    from pilots.rpa.logfile import check_files

    state = ctx.state
    files = form_files(form, "file")
    errors: list[str] = []
    results: list[dict[str, Any]] = []
    catalog = None
    if not files:
        errors.append("ファイルを選んでください")
    fmt = form_text(form, "format", 20) or "auto"
    if fmt not in _rpa_formats():
        errors.append(f"知らない形式です: {fmt}")
        files = []
    if what == "catalog":
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
    return {**values, "results": results, "catalog": catalog, "upload_errors": errors}
