"""The database: an engine made from a URL, sessions, and the schema brought up to date.

The URL is the only way in (``--db``, ``PILOTS_DATABASE_URL`` or the default
SQLite file). SQLite runs in WAL mode with a busy timeout, and every
transaction starts with ``BEGIN IMMEDIATE`` so that two commands writing at
once queue up instead of failing halfway.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pilots.errors import DatabaseError

logger = logging.getLogger("pilots")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
HEAD_REVISION = "0019"
"""The newest migration shipped, as alembic finds it (a test holds the two equal).

Every command checks the schema first: reading the stored revision and
comparing it with this needs neither alembic nor the migration scripts, which
took 0.4 s to load (measured), a tenth of ``pilots rpa issues`` on a million runs.
"""
SORTER_THREADS = min(os.cpu_count() or 1, 4)
"""SQLite's ``PRAGMA threads``: helper threads a large sort may use (one per core, at most 4)."""
# Any constant will do: it only has to be the same for every pilots process.
_PG_MIGRATION_LOCK = 7_310_411


def parse_url(url: str) -> URL:
    """Parse a database URL; ``postgresql://`` means psycopg 3.

    Raises:
        DatabaseError: the URL cannot be parsed or names an unknown database kind.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"データベースURLを解釈できません: {url!r}"
            "（例: sqlite:///data/pilots.db, postgresql://user:pass@127.0.0.1/pilots）"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(
            f"対応していないデータベースです: {parsed.render_as_string(hide_password=True)}"
            "（sqlite または postgresql）"
        )
    return parsed


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL, an in-memory or a ``file:`` URI database).

    Raises:
        DatabaseError: the URL cannot be parsed or names an unknown database kind.
    """
    return _sqlite_path(parse_url(url))


def _sqlite_path(parsed: URL) -> Path | None:
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    return Path(database).expanduser()


def make_engine(
    url: str,
    *,
    busy_timeout: float = 30.0,
    create_folder: bool = False,
    connections: int = 5,
) -> Engine:
    """Create an engine for ``url``.

    A SQLite file is created on first use where its folder exists; a missing
    folder is an error (a mistyped path must not become an empty database)
    unless ``create_folder`` asks for it (``pilots init``, the default data folder).
    A server database keeps ``connections`` open for reuse (a command needs one;
    ``pilots serve`` as many as it handles requests at once: a connection opened
    per request costs PostgreSQL's password exchange each time).

    Raises:
        DatabaseError: bad URL, missing driver, or a SQLite folder that is
            missing (and not to be created) or cannot be created.
    """
    parsed = parse_url(url)
    shown = parsed.render_as_string(hide_password=True)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None:
            _check_folder(path, create=create_folder)
        kwargs["connect_args"] = {"timeout": busy_timeout}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["pool_size"] = connections
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise DatabaseError(
            f"データベースのドライバがありません: {shown}（{exc}）。"
            "PostgreSQL には pip install 'pilots[postgresql]' が必要です"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine, busy_timeout)
    return engine


def _check_folder(path: Path, *, create: bool) -> None:
    folder = path.parent
    if folder.is_dir():
        return
    if not create:
        raise DatabaseError(
            f"データベースのフォルダがありません: {path}"
            "（パスを確かめてください。新しいデータベースは pilots init で作れます）"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(
            f"データベースのフォルダを作れません: {path}（{exc.strerror or exc}）"
        ) from None


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot take the
    # write lock up front; the SQLAlchemy recipe below hands that to us.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Helper threads for SQLite's sorter: a GROUP BY over a million runs
        # (pilots rpa issues, the summary) sorts them about a third faster.
        cursor.execute(f"PRAGMA threads = {SORTER_THREADS}")
        if engine.url.database not in (None, "", ":memory:"):
            _wal(cursor, busy_timeout)
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE: a writer waits (busy_timeout) for another one instead of
        # failing with SQLITE_BUSY when its read lock must become a write lock.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _wal(cursor: Any, busy_timeout: float) -> None:
    """``PRAGMA journal_mode = WAL``, waiting up to the busy timeout for another process.

    Switching a new file's journal mode takes a lock that SQLite's busy handler
    does not wait for: a process connecting while another switches the file or
    creates the schema is told "database is locked" at once. It tries again here.
    """
    import sqlite3
    import time

    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def describe(engine: Engine) -> str:
    """The engine's URL with the password hidden, for messages."""
    return engine.url.render_as_string(hide_password=True)


def _alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of pilots."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _stored_revision(connection: Connection) -> str | None:
    """The revision in ``alembic_version`` read directly (None: no such table, or not one row)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    return rows[0][0] if len(rows) == 1 else None


def upgrade(engine: Engine) -> bool:
    """Bring the schema up to date; safe when several processes do it at once.

    Returns:
        True if migrations ran, False if the schema was already current.

    Raises:
        DatabaseError: the database cannot be reached, or is newer than this pilots.
    """
    try:
        with engine.connect() as conn:
            if _stored_revision(conn) == HEAD_REVISION:
                return False
        from alembic import command

        head = head_revision()
        with engine.begin() as conn:
            # Under a lock, look again: another process may have just done it.
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            current = current_revision(conn)
            if current == head:
                return False
            _check_known(current, engine)
            logger.info("migrating %s from %s to %s", describe(engine), current, head)
            command.upgrade(_alembic_config(conn), "head")
        return True
    except OperationalError as exc:
        raise DatabaseError(
            f"データベースに接続できません: {describe(engine)}（{_first_line(exc)}）"
        ) from None


def _check_known(current: str | None, engine: Engine) -> None:
    from alembic.script import ScriptDirectory

    if current is None:
        return
    script = ScriptDirectory.from_config(_alembic_config())
    try:
        script.get_revision(current)
    except Exception:
        raise DatabaseError(
            f"データベース {describe(engine)} はこの pilots より新しい版で作られています"
            f"（リビジョン {current}）。pilots を更新してください"
        ) from None


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back on any exception."""
    with factory() as session, session.begin():
        yield session


def db_now(session: Session) -> datetime:
    """The current time as naive UTC, from the database's clock where several machines meet."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.scalar(text("SELECT now() AT TIME ZONE 'UTC'"))
        assert isinstance(value, datetime)
        return value
    # SQLite lives on one machine: its clock is the machine's.
    return datetime.now(UTC).replace(tzinfo=None)
