"""What wraps every answer of the web UI: the upload size limit and the security headers.

A request body over the limit (``upload_limit_mb`` plus room for the form
around the files) is answered 413 with a page that says the limit, before
any of it is stored; every answer carries the security headers and, unless
it sets its own, the pages' Content-Security-Policy.
"""

from __future__ import annotations

import jinja2
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pilots.web import uploads
from pilots.web.render import bare_page

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The report is one self-contained file with inline CSS and SVG, and no script.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"SAMEORIGIN"),
]
# The form fields and multipart framing around the files need a little room.
_FORM_ROOM = 1024 * 1024


class _BodyTooLarge(Exception):
    pass


class LimitAndHeaders:
    """ASGI middleware: the upload size limit on every request body, and security headers."""

    def __init__(self, app: ASGIApp, limit: int, env: jinja2.Environment) -> None:
        self.app = app
        self.env = env
        self.limit = limit + _FORM_ROOM

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
                    extra = [*extra, (b"content-security-policy", PAGE_CSP.encode())]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, limited_receive, with_headers)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, self.limit, self.env, scope.get("path", "/"))


async def _too_large(send: Send, limit: int, env: jinja2.Environment, path: str) -> None:
    """The 413 answer: a page that says the limit (the files the user may send at once)."""
    mb = uploads.format_mb(limit - _FORM_ROOM)
    message = f"ファイルが大きすぎます（1回の送信で合計 {mb} MB まで）。分けて送ってください。"
    body = bare_page(env, path, message).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *_SECURITY_HEADERS,
                (b"content-security-policy", PAGE_CSP.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
