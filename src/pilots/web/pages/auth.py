"""The top page, and signing in and out (ログイン・ログアウト)."""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pilots.web import auth, queue
from pilots.web.context import form_text, read_form, request_context
from pilots.web.render import guard, localtime, render

logger = logging.getLogger("pilots")


def home(request: Request) -> Response:
    ctx, refused = guard(request, None)
    if refused:
        return refused
    assert ctx.user is not None
    counts = None
    if ctx.user.may_open("minutes"):
        # A clerk sees their own department's queue, as on the 議事録作成 page.
        with ctx.state.session() as session:
            counts = queue.counts(session, ctx.user.department)
    return render(
        ctx,
        "home.html",
        counts=counts,
        states=queue.STATES,
        counts_department=ctx.user.department,
    )


async def login(request: Request) -> Response:
    ctx = request_context(request)
    next_url = request.query_params.get("next", "/")
    if not next_url.startswith("/") or next_url.startswith("//") or "\\" in next_url:
        next_url = "/"
    if request.method == "GET":
        return render(ctx, "login.html", next_url=next_url, error="")
    form = await read_form(request, ctx)
    name = form_text(form, "username", 64)
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
        return render(
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
        until = localtime(outcome.locked_until)
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
    ctx = request_context(request)
    await read_form(request, ctx)
    ctx.data = {"csrf": auth.new_csrf_token()}
    ctx.dirty = True
    return ctx.finish(RedirectResponse("/login", status_code=303))
