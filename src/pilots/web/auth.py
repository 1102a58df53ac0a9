"""Users of the web UI: the users file, password hashes, roles, signed sessions and CSRF tokens.

The users file (``users_file`` setting, default ``<data_dir>/users.json``) is
written by ``pilots users add``; it holds each user's role, optional
department and an scrypt hash of the password (stdlib ``hashlib.scrypt``, so
no extra dependency). Sessions are a cookie signed with HMAC-SHA256 by a key
kept beside the users file; each session carries its CSRF token, which every
form repeats. Without a users file the UI runs in single-user mode — every
page open — which ``pilots serve`` allows on 127.0.0.1 only.

The signing key is made on first start (mode 0600); on an address other
people reach, ``pilots serve`` refuses a key that others can read or one that
was published (:data:`LEAKED_KEY_SHA256`). Failed logins are kept in the
database (:class:`pilots.tables.LoginFailure`): each one slows the next
answer, and a user name or an address with too many is locked for a while.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from pilots.config import Settings
from pilots.db import db_now, session_scope
from pilots.errors import ConfigError, InputFileError, PilotsError
from pilots.files import make_folder
from pilots.tables import LoginFailure

ROLES = {
    "clerk": "職員（議事録作成）",
    "rpa": "RPA担当",
    "evaluator": "評価担当（満足度調査・効果測定レポート）",
    "admin": "管理者（すべて）",
}
# Which roles open which page (admin opens every page).
PAGE_ROLES = {
    "minutes": frozenset({"clerk", "admin"}),
    "rpa": frozenset({"rpa", "admin"}),
    "survey": frozenset({"evaluator", "admin"}),
    "report": frozenset({"evaluator", "admin"}),
    "rules": frozenset({"admin"}),
}
SESSION_SECONDS = 12 * 3600
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")


@dataclass(frozen=True)
class User:
    """A user of the web UI.

    Attributes:
        name: the login name.
        role: ``clerk``, ``rpa``, ``evaluator`` or ``admin``.
        department: the clerk's department (所属); their jobs list shows it.
    """

    name: str
    role: str
    department: str = ""

    def may_open(self, page: str) -> bool:
        """Whether the user's role opens ``page``."""
        return self.role in PAGE_ROLES[page]


# The user of single-user mode (no users file, listening on 127.0.0.1 only).
LOCAL_USER = User("local", "admin")


def hash_password(password: str) -> str:
    """An scrypt hash of ``password`` with a random salt, as one text field."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UserStore:
    """The users file: read on every login so that ``pilots users add`` needs no restart."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            users = data["users"]
            if not isinstance(users, dict):
                raise TypeError
            return {str(k): dict(v) for k, v in users.items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise InputFileError(self.path, "利用者ファイルの形式が正しくありません") from None

    def _save(self, users: dict[str, dict[str, str]]) -> None:
        make_folder(self.path.parent)
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"users": users}, out, ensure_ascii=False, indent=2, sort_keys=True)
            out.write("\n")
        temporary.replace(self.path)

    def users(self) -> list[User]:
        """Every user, by name."""
        return [
            User(name, entry.get("role", ""), entry.get("department", ""))
            for name, entry in sorted(self._load().items())
        ]

    def has_users(self) -> bool:
        """Whether any user is configured (otherwise: single-user mode)."""
        return bool(self._load())

    def add(self, name: str, role: str, password: str, department: str = "") -> bool:
        """Add a user, or replace the password, role and department of an existing one.

        Returns:
            True when the user is new.

        Raises:
            ConfigError: a bad name, role or password.
        """
        check_name(name)
        if role not in ROLES:
            raise ConfigError("--role", f"{', '.join(ROLES)} のいずれかを指定してください: {role}")
        if len(password) < 8:
            raise ConfigError("パスワード", "8文字以上にしてください")
        users = self._load()
        created = name not in users
        users[name] = {"role": role, "password": hash_password(password)}
        if department:
            users[name]["department"] = department
        self._save(users)
        return created

    def remove(self, name: str) -> bool:
        """Remove a user; False when there was none of that name."""
        users = self._load()
        if users.pop(name, None) is None:
            return False
        self._save(users)
        return True

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs, else None (same work either way)."""
        entry = self._load().get(name)
        stored = entry.get("password", "") if entry else ""
        # Hash even for an unknown name, so the answer's timing does not tell names apart.
        ok = verify_password(password, stored or _DUMMY_HASH)
        if entry is None or not ok or entry.get("role") not in ROLES:
            return None
        return User(name, entry["role"], entry.get("department", ""))

    def get(self, name: str) -> User | None:
        """The user called ``name`` (still in the file), or None."""
        entry = self._load().get(name)
        if entry is None or entry.get("role") not in ROLES:
            return None
        return User(name, entry["role"], entry.get("department", ""))


_DUMMY_HASH = hash_password(secrets.token_hex(8))


def check_name(name: str) -> None:
    """Login names: 1–64 of a–z, 0–9 and . _ - @ (no spaces, no look-alike characters)."""
    if not (1 <= len(name) <= 64) or not set(name) <= _NAME_CHARS:
        raise ConfigError(
            "NAME", f"利用者名は英小文字・数字・. _ - @ の64文字以内にしてください: {name!r}"
        )


# SHA-256 of session keys that were published: ``data/session.key`` was committed to
# the repository until issue 10, so anyone could sign a cookie with it. A server that
# still uses a copy of it is refused on any address beyond this computer.
LEAKED_KEY_SHA256 = frozenset({"a20829420cd620b47342bc69ecc629947f8f0c6c82712685dfb6d2c8e2a86e34"})
_KEY_BYTES = 32


class UnsafeKeyError(PilotsError):
    """The session key cannot be trusted: others can read it, or it was published."""


def session_key_file(settings: Settings) -> Path:
    """Where the key that signs session cookies is kept: ``<data_dir>/session.key``."""
    return settings.data_dir / "session.key"


def secret_key(path: Path) -> bytes:
    """The key that signs session cookies, created (readable by the owner only) on first use.

    Raises:
        InputFileError: the file exists but holds no key (it is not replaced silently:
            every session signed with the old key would end without a word).
    """
    try:
        return _parse_key(path, path.read_bytes())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(_KEY_BYTES)
    try:
        # Mode 0600 from the first byte (umask can only take bits away).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return _parse_key(path, path.read_bytes())
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key.hex() + "\n")
    return key


def _parse_key(path: Path, data: bytes) -> bytes:
    try:
        key = bytes.fromhex(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) < _KEY_BYTES:
        raise InputFileError(
            path, "セッション鍵の形式が正しくありません（削除すると次の起動で新しい鍵を作ります）"
        )
    return key


def check_secret_key(path: Path, host: str) -> bytes:
    """The session key (made on first start), refused on a public address if it is unsafe.

    On an address other people reach, a key file that others can read (POSIX
    mode bits; Windows has none to check) or a key that was published would let
    anyone forge a login, so the server must not start with it.

    Raises:
        UnsafeKeyError: ``host`` is not a loopback address and the key is unsafe.
    """
    key = secret_key(path)
    if is_loopback(host):
        return key
    if hashlib.sha256(key).hexdigest() in LEAKED_KEY_SHA256:
        raise UnsafeKeyError(
            f"{path}: このセッション鍵は公開されています（以前のリポジトリに含まれていた鍵）。"
            "ファイルを削除すると、次の起動で新しい鍵を作ります"
        )
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise UnsafeKeyError(
            f"{path}: セッション鍵を所有者以外も読み書きできます。"
            f"chmod 600 {path} で所有者だけにしてください"
        )
    return key


class SessionSigner:
    """Signs and checks the session cookie: ``base64(json).base64(hmac)``."""

    def __init__(self, key: bytes, *, max_age: int = SESSION_SECONDS) -> None:
        self.key = key
        self.max_age = max_age

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self.key, body, hashlib.sha256).digest()

    def dumps(self, data: dict[str, Any]) -> str:
        """The cookie value for ``data`` (stamped with the time it was issued)."""
        body = _b64(json.dumps({**data, "iat": int(time.time())}).encode("utf-8"))
        return body + "." + _b64(self._mac(body.encode("ascii")))

    def loads(self, value: str | None) -> dict[str, Any]:
        """The data of a valid, unexpired cookie; an empty dict for anything else."""
        if not value or "." not in value:
            return {}
        body, mac = value.rsplit(".", 1)
        try:
            if not hmac.compare_digest(_unb64(mac), self._mac(body.encode("ascii"))):
                return {}
            data = json.loads(_unb64(body))
        except (ValueError, UnicodeEncodeError):
            return {}
        if not isinstance(data, dict) or time.time() - float(data.get("iat", 0)) > self.max_age:
            return {}
        return data


def new_csrf_token() -> str:
    """A fresh random CSRF token."""
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    """Whether the form's token is the session's (constant-time)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def users_file(settings: Settings, given: Path | None = None) -> Path:
    """The users file: ``--users``, else the ``users_file`` setting, else in the data folder."""
    return given or settings.optional_path("users_file") or settings.data_dir / "users.json"


class NoUsersError(PilotsError):
    """``pilots serve`` on an address other people can reach, without any user."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this computer only."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_can_serve(host: str, store: UserStore) -> None:
    """Refuse to listen beyond this computer without users (single-user mode is local only).

    Raises:
        NoUsersError: ``host`` is not a loopback address and the users file has no user.
    """
    if is_loopback(host) or store.has_users():
        return
    raise NoUsersError(
        f"{host} で待ち受けるには利用者の登録が必要です"
        f"（pilots users add NAME --role admin、利用者ファイル {store.path}）。"
        "登録しない場合は 127.0.0.1 で起動してください"
    )


# --- failed logins: slowed down, then locked ---------------------------------------

# Any constant will do: it only has to be the same for every pilots process.
_PG_LOGIN_LOCK = 7_310_412


@dataclass(frozen=True)
class LoginPolicy:
    """How failed logins are slowed down and locked (the ``login_*`` settings).

    Attributes:
        max_failures: failures of one user name, or from one address, that lock it.
        lock_minutes: how long the lock lasts; older failures no longer count.
        delay_seconds: a failed login is answered after this many seconds times
            the failures so far.
    """

    max_failures: int
    lock_minutes: float
    delay_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginPolicy:
        """The policy the settings give."""
        return cls(
            settings.get("login_max_failures"),
            settings.get("login_lock_minutes"),
            settings.get("login_delay_seconds"),
        )


@dataclass(frozen=True)
class LoginOutcome:
    """What one login attempt came to.

    Attributes:
        user: the user, when the password was right and nothing was locked.
        locked: ``user`` or ``address`` when the attempt was refused without looking
            at the password, because that one is locked; else empty.
        locked_until: when the lock ends (naive UTC).
        failures: failures of the user name or the address within the lock window,
            this attempt included (the larger of the two), when the attempt failed.
        delay: seconds to wait before answering a failed attempt.
    """

    user: User | None
    locked: str = ""
    locked_until: datetime | None = None
    failures: int = 0
    delay: float = 0.0


def attempt_login(
    factory: sessionmaker[Session],
    store: UserStore,
    policy: LoginPolicy,
    name: str,
    password: str,
    address: str,
) -> LoginOutcome:
    """Check a login against the lock, then the password.

    The attempt is counted as a failure before the password is checked, in a
    transaction that also checks the lock (serialised across processes), so
    many attempts sent at once cannot get past ``max_failures``; a right
    password then takes back the failures of its user name.
    """
    name, address = name[:100], address[:100]
    window = timedelta(minutes=policy.lock_minutes)
    with session_scope(factory) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOGIN_LOCK})
        now = db_now(session)
        session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - window))
        counts = {}
        for what, column, value in (
            ("user", LoginFailure.user_name, name),
            ("address", LoginFailure.address, address),
        ):
            count, last = session.execute(
                select(func.count(), func.max(LoginFailure.failed_at)).where(column == value)
            ).one()
            if count >= policy.max_failures:
                return LoginOutcome(None, locked=what, locked_until=last + window)
            counts[what] = count
        session.add(LoginFailure(user_name=name, address=address, failed_at=now))
    user = store.authenticate(name, password)
    if user is not None:
        with session_scope(factory) as session:
            session.execute(delete(LoginFailure).where(LoginFailure.user_name == name))
        return LoginOutcome(user)
    failures = max(counts.values()) + 1
    return LoginOutcome(None, failures=failures, delay=policy.delay_seconds * failures)
