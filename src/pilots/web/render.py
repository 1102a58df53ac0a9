"""Turning a request into a page: the templates and their filters, the menu, refusals, errors.

Pages are rendered on the server with Jinja2 (``autoescape=True``; an office
may override a template by putting one of the same name in
``<PILOTS_TEMPLATE_DIR>/web/``). Every page handler starts with
:func:`guard`, which answers for it when the user may not open the page.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pilots.config import Settings
from pilots.output import format_figure
from pilots.templating import environment
from pilots.web import auth
from pilots.web.context import Context, app_state, request_context

logger = logging.getLogger("pilots")

# The menu: each page's key (its role in auth.PAGE_ROLES), address and name.
PAGES = (
    ("minutes", "/minutes", "議事録作成"),
    ("rpa", "/rpa", "RPA"),
    ("survey", "/survey", "満足度調査"),
    ("report", "/report", "効果測定レポート"),
)
_MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "yaml": "application/yaml; charset=utf-8",
}


def page_environment(settings: Settings) -> jinja2.Environment:
    """The pages' templates (the office's own first) with the filters they format figures by."""
    from pilots.calendar import FISCAL_YEARS

    env = environment(
        "pilots.web",
        settings.optional_path("template_dir"),
        "web",
        autoescape=True,
        trim_blocks=True,
    )
    env.filters["hours"] = lambda v: "—" if v is None else format_figure(v)
    env.filters["rate"] = lambda v: "—" if v is None else f"{v * 100:.1f}%"
    env.filters["num"] = lambda v: "—" if v is None else f"{v:,.0f}"
    env.filters["localtime"] = localtime
    env.filters["wareki"] = _wareki
    env.filters["month"] = _month
    env.filters["fiscal_year"] = _fiscal_year
    env.filters["duration"] = _duration
    env.filters["clock"] = _clock
    env.filters["mb"] = lambda v: f"{(v or 0) / 1024 / 1024:,.1f} MB"
    env.globals["fiscal_years"] = FISCAL_YEARS
    return env


def localtime(value: datetime | None) -> str:
    """A stored (naive UTC) time in this computer's time zone, in the Japanese era."""
    if value is None:
        return ""
    local = value.replace(tzinfo=UTC).astimezone()
    return f"{_wareki(local.date())} {local:%H:%M}"


def _wareki(value: date | None) -> str:
    """A date as the reports write it: 令和元年7月10日."""
    from pilots.calendar import format_date

    return "" if value is None else format_date(value)


def _month(value: str) -> str:
    """A month of a summary (``2019-04``) as 令和元年4月."""
    from pilots.calendar import format_month

    return format_month(int(value[:4]), int(value[5:7]))


def _fiscal_year(value: int | str) -> str:
    """A fiscal year (2019) as 令和元年度; what is not a year is shown as it is."""
    from pilots.calendar import format_fiscal_year
    from pilots.errors import CalendarError

    try:
        return format_fiscal_year(int(value))
    except (ValueError, CalendarError):
        return ""


def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    from pilots.asr.result import format_duration

    return format_duration(seconds)


def _clock(seconds: float) -> str:
    """A time in the recording as hh:mm:ss (the draft's time stamps)."""
    from pilots.asr.result import format_timestamp

    return format_timestamp(seconds)


# --- pages ----------------------------------------------------------------------


def render(ctx: Context, template: str, status_code: int = 200, **values: Any) -> Response:
    """A page in the site's frame: the menu the user's role opens, the flashes, the CSRF token."""
    user = ctx.user
    nav = [
        {"key": key, "href": href, "label": label}
        for key, href, label in PAGES
        if user is not None and user.may_open(key)
    ]
    values.setdefault("form", {})
    html = ctx.state.env.get_template(template).render(
        user=user,
        role_label=auth.ROLES.get(user.role, user.role) if user else "",
        single_user=user is auth.LOCAL_USER,
        nav=nav,
        csrf_token=ctx.csrf,
        flashes=ctx.take_flashes(),
        path=ctx.request.url.path,
        query_params=ctx.request.query_params,
        **values,
    )
    response = HTMLResponse(html, status_code=status_code)
    return ctx.finish(response)


def guard(request: Request, page: str | None) -> tuple[Context, Response | None]:
    """The request's context, or the response that refuses it (login, 403, 503).

    ``page`` is the key of the page in :data:`PAGES` whose role the user needs;
    None for a page every signed-in user opens.
    """
    ctx = request_context(request)
    state = ctx.state
    if state.config.require_users and not state.store.has_users():
        return ctx, render(ctx, "error.html", 503, message="利用者が登録されていません")
    if ctx.user is None:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return ctx, ctx.finish(
            RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
        )
    if page is not None and not ctx.user.may_open(page):
        return ctx, render(ctx, "error.html", 403, message="このページを開く権限がありません")
    return ctx, None


def attachment(data: bytes, name: str, fmt: str, ascii_name: str) -> Response:
    """A download; the name is percent-encoded (RFC 5987), never used as a path."""
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(
        data,
        media_type=_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


# --- errors ---------------------------------------------------------------------


async def http_error(request: Request, exc: Exception) -> Response:
    """An HTTP error (404, 403 …) as a page of the site, in Japanese."""
    assert isinstance(exc, HTTPException)
    ctx = request_context(request)
    messages = {
        404: "ページが見つかりません",
        403: "この操作はできません",
        405: "この操作はできません",
    }
    # Starlette's own details are English ("Not Found"); ours are Japanese.
    message = exc.detail if exc.detail and not exc.detail.isascii() else ""
    return render(
        ctx,
        "error.html",
        exc.status_code,
        message=message or messages.get(exc.status_code, "エラーが発生しました"),
    )


async def server_error(request: Request, exc: Exception) -> Response:
    """A fault of pilots: logged with its traceback, shown as one Japanese line."""
    logger.error("error on %s", request.url.path, exc_info=exc)
    message = "内部エラーが発生しました。管理者に連絡してください。"
    try:
        body = bare_page(app_state(request).env, request.url.path, message)
    except Exception:  # the error may lie in the templates themselves
        body = (
            "<!doctype html><html lang=ja><meta charset=utf-8><title>エラー</title>"
            f"<p>{message}</p></html>"
        )
    return HTMLResponse(body, status_code=500)


def bare_page(env: jinja2.Environment, path: str, message: str) -> str:
    """An error page outside the request's session (no menu, no user), in the pages' look.

    Its link leads back to the page that ``path`` belongs to (``/rpa/runs`` → RPA).
    """
    section = "/" + path.strip("/").split("/")[0]
    back = next(((href, f"{label}のページに戻る") for _k, href, label in PAGES if href == section),
                ("/", "トップページへ"))  # fmt: skip
    return env.get_template("error.html").render(
        user=None,
        role_label="",
        single_user=False,
        nav=[],
        csrf_token="",
        flashes=[],
        path=path,
        query_params={},
        form={},
        message=message,
        back=back,
    )
