"""One request as every page handler sees it: the app's state, the session cookie, the form.

The session is a signed cookie (:class:`pilots.web.auth.SessionSigner`) that
carries the user's name, the CSRF token every form repeats, and the messages
(flashes) to show once on the next page. Forms are read only after their
CSRF token and their Origin have been checked.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from pilots import db
from pilots.config import Settings
from pilots.errors import PilotsError
from pilots.web import auth, uploads

if TYPE_CHECKING:
    import jinja2
    from sqlalchemy.orm import Session, sessionmaker


SESSION_COOKIE = "pilots_session"

T = TypeVar("T")


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
        worker_concurrency: how many jobs that worker transcribes at once.
    """

    settings: Settings
    db_url: str
    users_file: Path
    require_users: bool = False
    start_worker: bool = False
    worker_poll: float = 2.0
    worker_concurrency: int = 1


@dataclass
class State:
    """What every request of one app shares: its configuration, database, users and templates."""

    config: WebConfig
    factory: sessionmaker[Session]
    store: auth.UserStore
    signer: auth.SessionSigner
    login: auth.LoginPolicy
    env: jinja2.Environment
    limit: int
    stop: threading.Event = field(default_factory=threading.Event)
    engine: Any = None

    def session(self) -> contextlib.AbstractContextManager[Session]:
        """A database session, committed when its block ends without an error."""
        return db.session_scope(self.factory)


@dataclass
class Context:
    """One request's session: the user, the CSRF token and messages to show once."""

    request: Request
    state: State
    data: dict[str, Any]
    user: auth.User | None
    dirty: bool = False

    @property
    def csrf(self) -> str:
        return str(self.data["csrf"])

    @property
    def user_name(self) -> str:
        """The user's login name, recorded beside what they upload; empty when none."""
        return self.user.name if self.user else ""

    def flash(self, kind: str, text: str) -> None:
        self.data.setdefault("flash", []).append([kind, text[:500]])
        self.dirty = True

    def take_flashes(self) -> list[list[str]]:
        found: list[list[str]] = self.data.pop("flash", [])
        if found:
            self.dirty = True
        return found

    def finish(self, response: Response) -> Response:
        """``response`` with the session cookie set again when the session changed."""
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


def app_state(request: Request) -> State:
    state: State = request.app.state.pilots
    return state


def request_context(request: Request) -> Context:
    """The request's session from its cookie (a new one, with a new CSRF token, if none)."""
    state = app_state(request)
    data = state.signer.loads(request.cookies.get(SESSION_COOKIE))
    ctx = Context(request, state, data, None)
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


# --- forms ----------------------------------------------------------------------


def _same_origin(request: Request) -> bool:
    # Browsers send Origin with every POST; a form posted from another site is refused
    # even before its (missing) CSRF token is looked at.
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


async def read_form(request: Request, ctx: Context) -> FormData:
    """The posted form, after its CSRF token (and the Origin header) have been checked."""
    if not _same_origin(request):
        raise HTTPException(403, "送信元が正しくありません")
    form = await request.form(max_files=100, max_fields=100)
    token = form.get("csrf_token")
    if not auth.csrf_ok(ctx.csrf, token if isinstance(token, str) else None):
        await form.close()
        raise HTTPException(403, "フォームの有効期限が切れました。ページを開き直してください")
    return form


async def read_json(request: Request, ctx: Context, limit: int) -> Any:
    """The posted JSON body of a page's script, after its CSRF token and Origin are checked.

    The script sends the token in the ``X-CSRF-Token`` header (a JSON body is no
    form); a body over ``limit`` bytes or not JSON is refused with 413 or 400.
    """
    if not _same_origin(request):
        raise HTTPException(403, "送信元が正しくありません")
    if not auth.csrf_ok(ctx.csrf, request.headers.get("x-csrf-token")):
        raise HTTPException(403, "ページの有効期限が切れました。ページを開き直してください")
    body = await request.body()
    if len(body) > limit:
        raise HTTPException(413, "一度に送る内容が多すぎます")
    try:
        return json.loads(body)
    except ValueError:
        raise HTTPException(400, "送られた内容を読めません") from None


async def with_form(
    request: Request, ctx: Context, work: Callable[..., T], *args: Any
) -> tuple[FormData, T]:
    """Read the posted form and run ``work(ctx, form, *args)`` in a worker thread.

    The work (saving uploads, importing them) blocks, so it runs outside the
    event loop; the form's uploaded files are closed when it ends, its text
    fields stay readable.
    """
    form = await read_form(request, ctx)
    try:
        return form, await run_in_threadpool(work, ctx, form, *args)
    finally:
        await form.close()


def form_text(form: FormData, name: str, limit: int = 300) -> str:
    """A text field of the form, trimmed and cut to ``limit`` characters; empty when absent."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def form_files(form: FormData, name: str) -> list[UploadFile]:
    """The files chosen in a file field (a field left empty gives none)."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and (f.filename or f.size)]


def save_upload(
    ctx: Context, upload: UploadFile, accept: set[str], limit: int | None = None
) -> uploads.StoredFile:
    """Store a posted file in the data folder, once its content is one of the kinds ``accept``.

    ``limit`` is the most bytes taken; by default the upload limit (``upload_limit_mb``).

    Raises:
        UploadError: too large, empty, or of another kind (the message names the file).
    """
    upload.file.seek(0)
    return uploads.save(
        upload.file,
        ctx.state.config.settings.data_dir,
        upload.filename,
        accept=accept,
        limit=ctx.state.limit if limit is None else limit,
    )


# --- the period of a summary ----------------------------------------------------


def period_args(request: Request) -> tuple[int, str, date | None, str]:
    """fy, period and as-of from the query string (with defaults) and an error, if any.

    Without ``fy`` (or with one that is not a plausible year) the fiscal year
    is today's in Japan (:func:`pilots.calendar.today`).
    """
    from pilots.calendar import FISCAL_YEARS, PERIOD_KINDS, fiscal_year_of, parse_date, today

    error = ""
    try:
        fiscal_year = int(request.query_params.get("fy", "") or fiscal_year_of(today()))
        if fiscal_year not in FISCAL_YEARS:
            raise ValueError
    except ValueError:
        fiscal_year, error = fiscal_year_of(today()), "年度は西暦（例: 2019）で指定してください"
    kind = request.query_params.get("period", "final")
    if kind not in PERIOD_KINDS:
        kind = "final"
    as_of = None
    text = request.query_params.get("as_of", "").strip()
    if text:
        try:
            as_of = parse_date(text)
        except PilotsError as exc:
            error = f"基準日: {exc}"
    return fiscal_year, kind, as_of, error
