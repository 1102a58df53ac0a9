"""The web UI (``pilots serve``): the four pages over the library, in Japanese.

Pages are rendered on the server with Jinja2 (``autoescape=True``; an office
may override a template by putting one of the same name in
``<PILOTS_TEMPLATE_DIR>/web/``), styles and the few lines of script are
served by the app itself, and every form posts with a CSRF token. Uploads
are stored by :mod:`pilots.web.uploads`; recordings go into the queue of
:mod:`pilots.web.queue`, never transcribed inside a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import tempfile
import threading
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pilots import db
from pilots.config import Settings
from pilots.errors import PilotsError
from pilots.output import format_figure
from pilots.templating import environment
from pilots.web import auth, queue, uploads

logger = logging.getLogger("pilots")

HERE = Path(__file__).parent
SESSION_COOKIE = "pilots_session"
MINUTES_FORMATS = ("docx", "md", "txt", "srt")
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
    "html": "text/html; charset=utf-8",
    "yaml": "application/yaml; charset=utf-8",
}
_PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The report is one self-contained file with inline CSS and SVG, and no script.
_REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
GLOSSARY_LIMIT = 1024 * 1024
PURGE_INTERVAL_SECONDS = 3600  # how often the server deletes recordings past their retention


@dataclass
class WebConfig:
    """How the app was started.

    Attributes:
        settings: the settings (data folder, limits, targets, plan file).
        db_url: the database.
        users_file: the users file (``--users`` or the ``users_file`` setting).
        require_users: refuse every request while there are no users (the
            server listens beyond this computer).
        start_worker: run one transcription worker in a thread of the server.
    """

    settings: Settings
    db_url: str
    users_file: Path
    require_users: bool = False
    start_worker: bool = False
    worker_poll: float = 2.0


@dataclass
class _State:
    config: WebConfig
    factory: sessionmaker[Session]
    store: auth.UserStore
    signer: auth.SessionSigner
    login: auth.LoginPolicy
    env: jinja2.Environment
    limit: int
    stop: threading.Event = field(default_factory=threading.Event)
    engine: Any = None


def _environment(settings: Settings) -> jinja2.Environment:
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
    env.filters["localtime"] = _localtime
    env.filters["wareki"] = _wareki
    env.filters["month"] = _month
    env.filters["fiscal_year"] = _fiscal_year
    env.filters["duration"] = _duration
    env.filters["mb"] = lambda v: f"{(v or 0) / 1024 / 1024:,.1f} MB"
    return env


def _localtime(value: datetime | None) -> str:
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


# --- request helpers ------------------------------------------------------------


@dataclass
class _Context:
    """One request's session: the user, the CSRF token and messages to show once."""

    request: Request
    state: _State
    data: dict[str, Any]
    user: auth.User | None
    dirty: bool = False

    @property
    def csrf(self) -> str:
        return str(self.data["csrf"])

    def flash(self, kind: str, text: str) -> None:
        self.data.setdefault("flash", []).append([kind, text[:500]])
        self.dirty = True

    def take_flashes(self) -> list[list[str]]:
        found: list[list[str]] = self.data.pop("flash", [])
        if found:
            self.dirty = True
        return found

    def finish(self, response: Response) -> Response:
        if self.dirty:
            response.set_cookie(
                SESSION_COOKIE,
                self.state.signer.dumps(self.data),
                max_age=auth.SESSION_SECONDS,
                httponly=True,
                samesite="strict",
                path="/",
            )
        return response


def _state(request: Request) -> _State:
    state: _State = request.app.state.pilots
    return state


def _context(request: Request) -> _Context:
    state = _state(request)
    data = state.signer.loads(request.cookies.get(SESSION_COOKIE))
    ctx = _Context(request, state, data, None)
    if "csrf" not in data:
        data.clear()
        data["csrf"] = auth.new_csrf_token()
        ctx.dirty = True
    if state.store.has_users():
        name = data.get("u")
        ctx.user = state.store.get(name) if isinstance(name, str) and name else None
    elif not state.config.require_users:
        ctx.user = auth.LOCAL_USER
    return ctx


def _render(ctx: _Context, template: str, status_code: int = 200, **values: Any) -> Response:
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


def _guard(request: Request, page: str | None) -> tuple[_Context, Response | None]:
    """The request's context, or the response that refuses it (login, 403, 503)."""
    ctx = _context(request)
    state = ctx.state
    if state.config.require_users and not state.store.has_users():
        return ctx, _render(ctx, "error.html", 503, message="利用者が登録されていません")
    if ctx.user is None:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return ctx, ctx.finish(
            RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
        )
    if page is not None and not ctx.user.may_open(page):
        return ctx, _render(ctx, "error.html", 403, message="このページを開く権限がありません")
    return ctx, None


def _same_origin(request: Request) -> bool:
    # Browsers send Origin with every POST; a form posted from another site is refused
    # even before its (missing) CSRF token is looked at.
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


async def _form(request: Request, ctx: _Context) -> FormData:
    """The posted form, after its CSRF token (and the Origin header) have been checked."""
    if not _same_origin(request):
        raise HTTPException(403, "送信元が正しくありません")
    form = await request.form(max_files=100, max_fields=100)
    token = form.get("csrf_token")
    if not auth.csrf_ok(ctx.csrf, token if isinstance(token, str) else None):
        await form.close()
        raise HTTPException(403, "フォームの有効期限が切れました。ページを開き直してください")
    return form


def _text(form: FormData, name: str, limit: int = 300) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _files(form: FormData, name: str) -> list[UploadFile]:
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and (f.filename or f.size)]


def _session(state: _State) -> contextlib.AbstractContextManager[Session]:
    return db.session_scope(state.factory)


def _user_name(ctx: _Context) -> str:
    return ctx.user.name if ctx.user else ""


def _fiscal_year_today() -> int:
    from pilots.calendar import fiscal_year_of

    return fiscal_year_of(date.today())


def _period_args(request: Request) -> tuple[int, str, date | None, str]:
    """fy, period and as-of from the query string (with defaults) and an error, if any."""
    from pilots.calendar import parse_date

    error = ""
    try:
        fiscal_year = int(request.query_params.get("fy", "") or _fiscal_year_today())
        if not 1989 <= fiscal_year <= 2100:
            raise ValueError
    except ValueError:
        fiscal_year, error = _fiscal_year_today(), "年度は西暦（例: 2019）で指定してください"
    kind = request.query_params.get("period", "final")
    if kind not in ("interim", "final"):
        kind = "final"
    as_of = None
    text = request.query_params.get("as_of", "").strip()
    if text:
        try:
            as_of = parse_date(text)
        except PilotsError as exc:
            error = f"基準日: {exc}"
    return fiscal_year, kind, as_of, error


# --- pages ---------------------------------------------------------------------


def home(request: Request) -> Response:
    ctx, refused = _guard(request, None)
    if refused:
        return refused
    assert ctx.user is not None
    counts = None
    if ctx.user.may_open("minutes"):
        # A clerk sees their own department's queue, as on the 議事録作成 page.
        with _session(ctx.state) as session:
            counts = queue.counts(session, ctx.user.department)
    return _render(
        ctx,
        "home.html",
        counts=counts,
        states=queue.STATES,
        counts_department=ctx.user.department,
    )


async def login(request: Request) -> Response:
    ctx = _context(request)
    next_url = request.query_params.get("next", "/")
    if not next_url.startswith("/") or next_url.startswith("//") or "\\" in next_url:
        next_url = "/"
    if request.method == "GET":
        return _render(ctx, "login.html", next_url=next_url, error="")
    form = await _form(request, ctx)
    name = _text(form, "username", 64)
    password = form.get("password")
    address = request.client.host if request.client else ""
    state = ctx.state
    outcome = await run_in_threadpool(
        auth.attempt_login,
        state.factory,
        state.store,
        state.login,
        name,
        password if isinstance(password, str) else "",
        address,
    )
    user = outcome.user
    if user is None:
        status, error = _login_refusal(state.login, outcome, name, address)
        # Each failure makes the next answer slower, for this request only.
        await asyncio.sleep(outcome.delay)
        return _render(
            ctx, "login.html", status, next_url=next_url, error=error, form={"username": name}
        )
    # A new session (and CSRF token) at login, so a token seen before cannot be reused.
    ctx.data = {"u": user.name, "csrf": auth.new_csrf_token()}
    ctx.dirty = True
    return ctx.finish(RedirectResponse(next_url, status_code=303))


def _login_refusal(
    policy: auth.LoginPolicy, outcome: auth.LoginOutcome, name: str, address: str
) -> tuple[int, str]:
    """The status and the message of a refused login; failures and locks are logged."""
    minutes = f"{policy.lock_minutes:g}分"
    if outcome.locked:
        until = _localtime(outcome.locked_until)
        logger.warning(
            "ログインを拒否しました（%sがロック中）: 利用者名 %r、接続元 %s",
            "利用者名" if outcome.locked == "user" else "接続元",
            name,
            address,
        )
        if outcome.locked == "user":
            return 429, (
                f"この利用者名はログインの失敗が続いたため、{until} まで使えません。"
                "パスワードが分からないときは管理者に連絡してください"
            )
        return 429, f"この端末からのログインの失敗が続いたため、{until} までログインできません"
    logger.warning(
        "ログインに失敗しました: 利用者名 %r、接続元 %s（%s以内に%d回目）",
        name,
        address,
        minutes,
        outcome.failures,
    )
    left = policy.max_failures - outcome.failures
    if left <= 0:
        logger.warning("ログインを%s間止めます: 利用者名 %r、接続元 %s", minutes, name, address)
        return 429, (
            f"利用者名またはパスワードが違います。失敗が続いたため、{minutes}間ログインできません"
        )
    return 401, (
        f"利用者名またはパスワードが違います（あと{left}回失敗すると、{minutes}間ログインできなく"
        "なります）"
    )


async def logout(request: Request) -> Response:
    ctx = _context(request)
    await _form(request, ctx)
    ctx.data = {"csrf": auth.new_csrf_token()}
    ctx.dirty = True
    return ctx.finish(RedirectResponse("/login", status_code=303))


# --- 議事録作成 -----------------------------------------------------------------


def _job_department_filter(ctx: _Context, request: Request) -> str:
    assert ctx.user is not None
    if ctx.user.department:
        return ctx.user.department
    return request.query_params.get("dept", "").strip()[:200]


def _visible(ctx: _Context, job: Any) -> bool:
    assert ctx.user is not None
    from pilots.text import normalize_name

    return not ctx.user.department or normalize_name(job.department) == normalize_name(
        ctx.user.department
    )


def minutes_page(request: Request) -> Response:
    ctx, refused = _guard(request, "minutes")
    if refused:
        return refused
    return _render(ctx, "minutes.html", **_minutes_values(ctx, request))


def _minutes_values(ctx: _Context, request: Request) -> dict[str, Any]:
    from pilots.org import list_departments
    from pilots.tables import AsrJob, WebJob
    from pilots.text import normalize_name

    dept = _job_department_filter(ctx, request)
    with _session(ctx.state) as session:
        query = select(WebJob).order_by(WebJob.id.desc()).limit(200)
        jobs = [
            j
            for j in session.scalars(query)
            if not dept or normalize_name(j.department) == normalize_name(dept)
        ]
        formats = queue.output_formats(session, [j.id for j in jobs if j.state == queue.DONE])
        asr_ids = [j.asr_job_id for j in jobs if j.asr_job_id]
        # The measurement records (pilots asr jobs): correction time, no-speech flag.
        measured = {a.id: a for a in session.scalars(select(AsrJob).where(AsrJob.id.in_(asr_ids)))}
        departments = [d.name for d in list_departments(session)]
    settings = ctx.state.config.settings
    return {
        "jobs": jobs,
        "formats": formats,
        "measured": measured,
        "departments": departments,
        "dept": dept,
        "states": queue.STATES,
        "finished": (queue.DONE, queue.FAILED),
        "limit_mb": settings.get("upload_limit_mb"),
        "retention_days": settings.get("recording_retention_days"),
        "duplicate_minutes": settings.get("upload_duplicate_minutes"),
        "default_department": ctx.user.department if ctx.user else "",
    }


# The header of the minutes as the clerk typed it: kept in the form when an upload is refused.
_MINUTES_FIELDS = {"department": 200, "title": 300, "date": 40, "place": 300, "attendees": 1000}


async def minutes_upload(request: Request) -> Response:
    ctx, refused = _guard(request, "minutes")
    if refused:
        return refused
    form = await _form(request, ctx)
    try:
        accepted = await run_in_threadpool(_enqueue_recordings, ctx, form)
    finally:
        await form.close()
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
    typed = {name: _text(form, name, limit) for name, limit in _MINUTES_FIELDS.items()}
    values = await run_in_threadpool(_minutes_values, ctx, request)
    return _render(ctx, "minutes.html", 400, form=typed, **values)


def _enqueue_recordings(ctx: _Context, form: FormData) -> bool:
    """Queue the posted recordings; False when something was refused (said in a flash)."""
    from pilots.calendar import parse_date

    assert ctx.user is not None
    state = ctx.state
    data_dir = state.config.settings.data_dir
    department = ctx.user.department or _text(form, "department", 200)
    title = _text(form, "title", 300)
    meeting_date = None
    date_text = _text(form, "date", 40)
    if date_text:
        try:
            meeting_date = parse_date(date_text)
        except PilotsError as exc:
            ctx.flash("error", f"会議の日付: {exc}")
            return False
    recordings = _files(form, "audio")
    if not recordings:
        ctx.flash("error", "録音ファイルを選んでください")
        return False
    glossary = None
    glossary_files = _files(form, "glossary")
    if glossary_files:
        try:
            glossary = _read_glossary(glossary_files[0], data_dir)
        except PilotsError as exc:
            ctx.flash("error", str(exc))
            return False
    accepted = True
    for upload in recordings:
        try:
            upload.file.seek(0)
            stored = uploads.save(
                upload.file,
                data_dir,
                upload.filename,
                accept={uploads.AUDIO},
                limit=state.limit,
            )
        except PilotsError as exc:
            ctx.flash("error", str(exc))
            accepted = False
            continue
        window = state.config.settings.get("upload_duplicate_minutes")
        with _session(state) as session:
            same = queue.recent_duplicate(session, stored.sha256, department, minutes=window)
            if same is None:
                row = uploads.record(session, stored, "minutes", _user_name(ctx))
                with stored.path.open("rb") as audio:
                    job_id = queue.enqueue(
                        session,
                        queue.NewJob(
                            original_name=stored.original_name,
                            department=department,
                            title=title or Path(stored.original_name).stem,
                            meeting_date=meeting_date,
                            place=_text(form, "place", 300),
                            attendees=_text(form, "attendees", 1000),
                            glossary=glossary,
                            formats=MINUTES_FORMATS,
                            audio_seconds=stored.audio_seconds,
                            submitted_by=_user_name(ctx),
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


def _read_glossary(upload: UploadFile, data_dir: Path) -> str:
    """The glossary's text, checked by loading it as the worker will."""
    from pilots.asr.glossary import Glossary
    from pilots.tabular import decode

    upload.file.seek(0)
    stored = uploads.save(
        upload.file, data_dir, upload.filename, accept={uploads.TEXT}, limit=GLOSSARY_LIMIT
    )
    try:
        text, _encoding = decode(stored.path, stored.path.read_bytes())
        try:
            Glossary.load(stored.path)
        except PilotsError as exc:
            raise uploads.UploadError(uploads.shown_text(str(exc), stored)) from None
        return text
    finally:
        stored.path.unlink(missing_ok=True)


def minutes_status(request: Request) -> Response:
    ctx, refused = _guard(request, "minutes")
    if refused:
        return JSONResponse({"error": "forbidden"}, status_code=403)
    from pilots.tables import WebJob

    try:
        ids = [int(x) for x in request.query_params.get("ids", "").split(",") if x][:200]
    except ValueError:
        return JSONResponse({"error": "bad ids"}, status_code=400)
    with _session(ctx.state) as session:
        jobs = list(session.scalars(select(WebJob).where(WebJob.id.in_(ids))))
        found = [
            {
                "id": j.id,
                "state": j.state,
                "label": queue.STATES.get(j.state, j.state),
                "progress": round(j.progress, 3),
            }
            for j in jobs
            if _visible(ctx, j)
        ]
    return ctx.finish(JSONResponse({"jobs": found}))


def minutes_download(request: Request) -> Response:
    ctx, refused = _guard(request, "minutes")
    if refused:
        return refused
    from pilots.tables import WebJob

    job_id = request.path_params["job_id"]
    fmt = request.path_params["fmt"]
    if fmt not in MINUTES_FORMATS:
        raise HTTPException(404)
    with _session(ctx.state) as session:
        job = session.get(WebJob, job_id)
        if job is None or not _visible(ctx, job):
            raise HTTPException(404)
        data = queue.output(session, job_id, fmt)
        name = job.original_name
    if data is None:
        raise HTTPException(404)
    return ctx.finish(_attachment(data, f"{Path(name).stem}.{fmt}", fmt, f"job{job_id}.{fmt}"))


async def minutes_correction(request: Request) -> Response:
    ctx, refused = _guard(request, "minutes")
    if refused:
        return refused
    form = await _form(request, ctx)
    job_id = request.path_params["job_id"]
    if await run_in_threadpool(_record_correction, ctx, job_id, form):
        return ctx.finish(RedirectResponse("/minutes", status_code=303))
    typed = {f"minutes-{job_id}": _text(form, "minutes", 20)}
    values = await run_in_threadpool(_minutes_values, ctx, request)
    return _render(ctx, "minutes.html", 400, form=typed, **values)


def _record_correction(ctx: _Context, job_id: int, form: FormData) -> bool:
    """Record the posted correction time; False when it was refused (said in a flash)."""
    from pilots.asr.jobs import report_correction
    from pilots.tables import WebJob

    text = _text(form, "minutes", 40)
    try:
        minutes = float(text)
    except ValueError:
        ctx.flash("error", f"ジョブ #{job_id}: 修正時間は分数（例: 35）で入力してください: {text}")
        return False
    settings = ctx.state.config.settings
    with _session(ctx.state) as session:
        job = session.get(WebJob, job_id)
        if job is None or not _visible(ctx, job):
            raise HTTPException(404)
        if job.asr_job_id is None:
            ctx.flash("error", f"ジョブ #{job_id} はまだ完了していません")
            return False
        try:
            report_correction(
                session,
                job.asr_job_id,
                minutes,
                default_rate=settings.get("default_baseline_rate"),
                max_ratio=settings.get("asr.max_correction_ratio"),
            )
        except PilotsError as exc:
            ctx.flash("error", f"ジョブ #{job_id}: {exc}")
            return False
    ctx.flash("info", f"ジョブ #{job_id}: 修正時間 {minutes:g}分を記録しました")
    return True


async def minutes_delete_recording(request: Request) -> Response:
    ctx, refused = _guard(request, "minutes")
    if refused:
        return refused
    await _form(request, ctx)
    await run_in_threadpool(_delete_recording, ctx, request.path_params["job_id"])
    return ctx.finish(RedirectResponse("/minutes", status_code=303))


def _delete_recording(ctx: _Context, job_id: int) -> None:
    from pilots.tables import WebJob

    with _session(ctx.state) as session:
        job = session.get(WebJob, job_id)
        if job is None or not _visible(ctx, job):
            raise HTTPException(404)
        if job.state not in (queue.DONE, queue.FAILED):
            ctx.flash("error", f"ジョブ #{job_id}: 文字起こしが終わるまで録音は削除できません")
            return
        if job.recording_deleted_at is None:
            freed = uploads.delete_recording(session, ctx.state.config.settings.data_dir, job)
            logger.info(
                "録音を削除しました（%s の操作）: ジョブ #%d %s、%s MB",
                _user_name(ctx),
                job_id,
                job.original_name,
                uploads.format_mb(freed),
            )
    ctx.flash(
        "info",
        f"ジョブ #{job_id}: 録音を削除しました（議事録案と効果測定の記録は残ります）",
    )


def purge_expired_recordings(state: _State) -> None:
    """Delete the recordings past the ``recording_retention_days`` setting, and log each."""
    settings = state.config.settings
    days = settings.get("recording_retention_days")
    with _session(state) as session:
        result = uploads.purge_recordings(session, settings.data_dir, older_than_days=days)
    for r in result.recordings:
        logger.info(
            "録音を削除しました（ジョブの完了から%g日を過ぎたため）: ジョブ #%d %s（%s）、%s MB",
            days,
            r.job_id,
            r.original_name,
            r.department or "所属なし",
            uploads.format_mb(r.size_bytes),
        )
    for name in result.orphans:
        logger.info("ジョブにならなかった録音を削除しました: %s", name)
    if result.work_folders:
        logger.info("作業プロセスの残した録音のコピー %d件を削除しました", result.work_folders)


# --- RPA ------------------------------------------------------------------------


# Rejected rows are listed on the page this many at a time (``?rejects=N`` turns the pages).
REJECTS_SHOWN = 200
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8（BOM付き）", "cp932": "Shift_JIS（CP932）"}


def _rpa_context(session: Session, request: Request, settings: Settings) -> dict[str, Any]:
    from pilots.calendar import period
    from pilots.rpa.catalog import list_tasks
    from pilots.rpa.measure import latest_fiscal_year, summarize

    fiscal_year, kind, as_of, error = _period_args(request)
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
    ctx, refused = _guard(request, "rpa")
    if refused:
        return refused
    with _session(ctx.state) as session:
        values = _rpa_context(session, request, ctx.state.config.settings)
    return _render(ctx, "rpa.html", results=None, catalog=None, upload_errors=[], **values)


async def rpa_upload(request: Request) -> Response:
    ctx, refused = _guard(request, "rpa")
    if refused:
        return refused
    what = request.path_params["what"]
    if what not in ("catalog", "runs"):
        raise HTTPException(404)
    form = await _form(request, ctx)
    try:
        values = await run_in_threadpool(_rpa_import, ctx, request, form, what)
    finally:
        await form.close()
    status = 400 if values.get("upload_errors") else 200
    return _render(ctx, "rpa.html", status, form={"format": _text(form, "format", 20)}, **values)


def _rpa_import(ctx: _Context, request: Request, form: FormData, what: str) -> dict[str, Any]:
    from pilots.rpa.catalog import import_catalog
    from pilots.rpa.ingest import ingest_file, list_rejects
    from pilots.rpa.logfile import check_files

    state = ctx.state
    data_dir = state.config.settings.data_dir
    files = _files(form, "file")
    errors: list[str] = []
    results: list[dict[str, Any]] = []
    catalog = None
    if not files:
        errors.append("ファイルを選んでください")
    fmt = _text(form, "format", 20) or "auto"
    if fmt not in _rpa_formats():
        errors.append(f"知らない形式です: {fmt}")
        files = []
    if what == "catalog":
        files = files[:1]
    for upload in files:
        try:
            upload.file.seek(0)
            stored = uploads.save(
                upload.file,
                data_dir,
                upload.filename,
                accept={uploads.CSV, uploads.XLSX},
                limit=state.limit,
            )
        except PilotsError as exc:
            errors.append(str(exc))
            continue
        try:
            with _session(state) as session:
                uploads.record(session, stored, f"rpa_{what}", _user_name(ctx))
            with _session(state) as session:
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
    with _session(state) as session:
        values = _rpa_context(session, request, state.config.settings)
    return {**values, "results": results, "catalog": catalog, "upload_errors": errors}


# --- 満足度調査 -------------------------------------------------------------------


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
    ctx, refused = _guard(request, "survey")
    if refused:
        return refused
    with _session(ctx.state) as session:
        values = _survey_context(
            session, ctx.state.config.settings, request.query_params.get("name")
        )
    return _render(ctx, "survey.html", result=None, choice=None, upload_errors=[], **values)


async def survey_upload(request: Request) -> Response:
    ctx, refused = _guard(request, "survey")
    if refused:
        return refused
    form = await _form(request, ctx)
    try:
        values = await run_in_threadpool(_survey_import, ctx, form)
    finally:
        await form.close()
    status = 400 if values["upload_errors"] or values["choice"] else 200
    typed = {"survey": _text(form, "survey", 200)}
    return _render(ctx, "survey.html", status, form=typed, **values)


# The survey form's fields, by the option the library names in its messages.
_SURVEY_FIELDS = {"--survey": "調査名", "--question": "満足度の設問"}


def _survey_import(ctx: _Context, form: FormData) -> dict[str, Any]:
    """Import the posted export, or the one uploaded before once its question is chosen."""
    from pilots.survey.ingest import QuestionNotChosen, default_survey_name, import_survey

    state = ctx.state
    errors: list[str] = []
    result = None
    choice = None
    name = _text(form, "survey", 200)
    try:
        stored = _survey_file(ctx, form)
    except PilotsError as exc:
        errors.append(str(exc))
    else:
        try:
            with _session(state) as session:
                result = import_survey(
                    session,
                    stored.path,
                    survey=name or default_survey_name(stored.original_name),
                    question=_text(form, "question", 300) or None,
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
    with _session(state) as session:
        values = _survey_context(session, state.config.settings, result.survey if result else None)
    return {**values, "result": result, "choice": choice, "upload_errors": errors}


def _survey_file(ctx: _Context, form: FormData) -> uploads.StoredFile:
    """The export posted now, saved and recorded, or the one this user posted before."""
    state = ctx.state
    data_dir = state.config.settings.data_dir
    earlier = _text(form, "upload", 64)
    if earlier:
        with _session(state) as session:
            return uploads.find(session, data_dir, earlier, purpose="survey", user=_user_name(ctx))
    files = _files(form, "file")
    if not files:
        raise uploads.UploadError("ファイルを選んでください")
    files[0].file.seek(0)
    stored = uploads.save(
        files[0].file,
        data_dir,
        files[0].filename,
        accept={uploads.CSV, uploads.XLSX},
        limit=state.limit,
    )
    with _session(state) as session:
        uploads.record(session, stored, "survey", _user_name(ctx))
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
    ctx, refused = _guard(request, "survey")
    if refused:
        return refused
    form = await _form(request, ctx)
    name, confirmed = _text(form, "name", 200), _text(form, "confirm", 1) == "1"
    await form.close()
    return await run_in_threadpool(_survey_delete, ctx, name, confirmed)


def _survey_delete(ctx: _Context, name: str, confirmed: bool) -> Response:
    from pilots.survey.measure import delete_survey, summarize_survey

    try:
        with _session(ctx.state) as session:
            if not confirmed:
                summary = summarize_survey(session, name, target=None)
                return _render(ctx, "survey_delete.html", survey=summary)
            deleted = delete_survey(session, name)
    except PilotsError as exc:
        ctx.flash("error", str(exc))
    else:
        ctx.flash("info", f"調査「{deleted.name}」を削除しました（回答 {deleted.responses}件）")
    return ctx.finish(RedirectResponse("/survey", status_code=303))


# --- 効果測定レポート ---------------------------------------------------------------

PLAN_LIMIT = 1024 * 1024  # a plan file is a few kilobytes of YAML


def _report_args(request: Request) -> tuple[str | None, bool]:
    """The survey chosen for the satisfaction indicators, and whether a projection is wanted."""
    survey = request.query_params.get("survey", "").strip()[:200] or None
    return survey, request.query_params.get("projection") == "1"


def _report_page_values(session: Session, request: Request) -> dict[str, Any]:
    from pilots.calendar import format_fiscal_year, period
    from pilots.report.plan_store import latest_plan_year, plan_versions
    from pilots.survey.measure import surveys_in_period

    fiscal_year, kind, as_of, error = _period_args(request)
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
    ctx, refused = _guard(request, "report")
    if refused:
        return refused
    with _session(ctx.state) as session:
        values = _report_page_values(session, request)
    return _render(ctx, "report.html", plan_errors=[], **values)


def _build_report(state: _State, request: Request) -> Any:
    from pilots import calendar
    from pilots.report.build import prepare_report

    fiscal_year, kind, as_of, _error = _period_args(request)
    survey, projection = _report_args(request)
    with _session(state) as session:
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


def _report_error(ctx: _Context, request: Request, message: str) -> Response:
    with _session(ctx.state) as session:
        values = _report_page_values(session, request)
    values["period_error"] = message
    return _render(ctx, "report.html", 400, plan_errors=[], **values)


def report_view(request: Request) -> Response:
    ctx, refused = _guard(request, "report")
    if refused:
        return refused
    from pilots.report.writers import render_html

    _fy, _kind, _as_of, error = _period_args(request)
    if error:
        return _report_error(ctx, request, error)
    try:
        report = _build_report(ctx.state, request)
    except PilotsError as exc:
        return _report_error(ctx, request, str(exc))
    template_dir = ctx.state.config.settings.optional_path("template_dir")
    response = HTMLResponse(render_html(report, template_dir=template_dir))
    response.headers["Content-Security-Policy"] = _REPORT_CSP
    return ctx.finish(response)


def report_download(request: Request) -> Response:
    ctx, refused = _guard(request, "report")
    if refused:
        return refused
    from pilots.report.writers import write_report

    fmt = request.query_params.get("format", "html")
    if fmt not in ("html", "xlsx", "md"):
        raise HTTPException(404)
    _fy, _kind, _as_of, error = _period_args(request)
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
    return ctx.finish(_attachment(data, name, fmt, name))


async def report_plan_upload(request: Request) -> Response:
    ctx, refused = _guard(request, "report")
    if refused:
        return refused
    form = await _form(request, ctx)
    try:
        files = _files(form, "plan")
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
        with _session(ctx.state) as session:
            values = _report_page_values(session, request)
        return _render(ctx, "report.html", 400, plan_errors=[error], **values)
    from pilots.calendar import format_fiscal_year

    year = format_fiscal_year(result.fiscal_year)
    ctx.flash(
        "info",
        f"{name}: {year}の計画を版 {result.version} として取り込みました"
        if result.added
        else f"{name}: {year}の計画の版 {result.version} と同じ内容です（変更なし）",
    )
    return ctx.finish(RedirectResponse(f"/report?fy={result.fiscal_year}", status_code=303))


def _import_plan(ctx: _Context, data: bytes, name: str) -> tuple[Any, str]:
    from pilots.report.plan import decode_plan
    from pilots.report.plan_store import import_plan_text

    try:
        with _session(ctx.state) as session:
            return (
                import_plan_text(
                    session, decode_plan(data, name), name, imported_by=_user_name(ctx)
                ),
                "",
            )
    except PilotsError as exc:
        return None, str(exc)


def report_plan_download(request: Request) -> Response:
    ctx, refused = _guard(request, "report")
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
        with _session(ctx.state) as session:
            found, text = stored_plan(session, fiscal_year, version)
    except PilotsError as exc:
        return _report_error(ctx, request, str(exc))
    name = f"plan_fy{found.fiscal_year}_v{found.version}.yaml"
    return ctx.finish(_attachment(text.encode("utf-8"), name, "yaml", name))


# --- plumbing -------------------------------------------------------------------


def _attachment(data: bytes, name: str, fmt: str, ascii_name: str) -> Response:
    """A download; the name is percent-encoded (RFC 5987), never used as a path."""
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(
        data,
        media_type=_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    ctx = _context(request)
    messages = {
        404: "ページが見つかりません",
        403: "この操作はできません",
        405: "この操作はできません",
    }
    # Starlette's own details are English ("Not Found"); ours are Japanese.
    message = exc.detail if exc.detail and not exc.detail.isascii() else ""
    return _render(
        ctx,
        "error.html",
        exc.status_code,
        message=message or messages.get(exc.status_code, "エラーが発生しました"),
    )


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("error on %s", request.url.path, exc_info=exc)
    message = "内部エラーが発生しました。管理者に連絡してください。"
    try:
        body = _bare_page(_state(request).env, request.url.path, message)
    except Exception:  # the error may lie in the templates themselves
        body = (
            "<!doctype html><html lang=ja><meta charset=utf-8><title>エラー</title>"
            f"<p>{message}</p></html>"
        )
    return HTMLResponse(body, status_code=500)


def _bare_page(env: jinja2.Environment, path: str, message: str) -> str:
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


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"SAMEORIGIN"),
]


class _BodyTooLarge(Exception):
    pass


class LimitAndHeaders:
    """ASGI middleware: the upload size limit on every request body, and security headers."""

    def __init__(self, app: ASGIApp, limit: int, env: jinja2.Environment) -> None:
        self.app = app
        self.env = env
        # The form fields and multipart framing around the files need a little room.
        self.limit = limit + 1024 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _too_large(send, self.limit, self.env, scope.get("path", "/"))
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge
            return message

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _v in message.get("headers", [])}
                extra = _SECURITY_HEADERS
                if b"content-security-policy" not in names:
                    extra = [*extra, (b"content-security-policy", _PAGE_CSP.encode())]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, limited_receive, with_headers)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, self.limit, self.env, scope.get("path", "/"))


async def _too_large(send: Send, limit: int, env: jinja2.Environment, path: str) -> None:
    mb = uploads.format_mb(limit - 1024 * 1024)
    message = f"ファイルが大きすぎます（1回の送信で合計 {mb} MB まで）。分けて送ってください。"
    body = _bare_page(env, path, message).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *_SECURITY_HEADERS,
                (b"content-security-policy", _PAGE_CSP.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(config: WebConfig) -> Starlette:
    """The web app over the database of ``config`` (its schema brought up to date)."""
    settings = config.settings
    engine = db.make_engine(config.db_url, busy_timeout=settings.get("sqlite_busy_timeout"))
    db.upgrade(engine)
    state = _State(
        config=config,
        factory=db.session_factory(engine),
        store=auth.UserStore(config.users_file),
        signer=auth.SessionSigner(auth.secret_key(auth.session_key_file(settings))),
        login=auth.LoginPolicy.from_settings(settings),
        env=_environment(settings),
        limit=uploads.limit_bytes(settings.get("upload_limit_mb")),
        engine=engine,
    )

    def purge_loop() -> None:
        # At start, then every hour: recordings are not kept past their retention.
        while True:
            try:
                purge_expired_recordings(state)
            except Exception:  # the database may be back at the next round
                logger.exception("録音の削除に失敗しました")
            if state.stop.wait(PURGE_INTERVAL_SECONDS):
                return

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        purger = threading.Thread(target=purge_loop, name="pilots-purge", daemon=True)
        purger.start()
        thread = None
        if config.start_worker:
            from pilots.web.worker import Worker

            worker = Worker(
                state.factory,
                settings,
                poll=config.worker_poll,
                stop=state.stop,
                log=lambda line: logger.info("%s", line),
            )
            thread = threading.Thread(target=worker.run, name="pilots-worker", daemon=True)
            thread.start()
        try:
            yield
        finally:
            state.stop.set()
            purger.join(timeout=5)
            if thread is not None:
                thread.join(timeout=5)
            engine.dispose()

    routes = [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/minutes", minutes_page, methods=["GET"]),
        Route("/minutes", minutes_upload, methods=["POST"]),
        Route("/minutes/status", minutes_status),
        Route("/minutes/jobs/{job_id:int}/download/{fmt:str}", minutes_download),
        Route("/minutes/jobs/{job_id:int}/correction", minutes_correction, methods=["POST"]),
        Route(
            "/minutes/jobs/{job_id:int}/recording/delete",
            minutes_delete_recording,
            methods=["POST"],
        ),
        Route("/rpa", rpa_page, methods=["GET"]),
        Route("/rpa/{what:str}", rpa_upload, methods=["POST"]),
        Route("/survey", survey_page, methods=["GET"]),
        Route("/survey", survey_upload, methods=["POST"]),
        Route("/survey/delete", survey_delete, methods=["POST"]),
        Route("/report", report_page),
        Route("/report/view", report_view),
        Route("/report/download", report_download),
        Route("/report/plan", report_plan_upload, methods=["POST"]),
        Route("/report/plan/download", report_plan_download),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.pilots = state
    app.add_middleware(LimitAndHeaders, limit=state.limit, env=state.env)
    return app
