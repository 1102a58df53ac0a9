"""Shared fixtures: a database per test (SQLite file, and PostgreSQL when CI provides one)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from pilots import db
from pilots.cli import cli

PG_URL = os.environ.get("PILOTS_TEST_DATABASE_URL", "")
DATA = Path(__file__).parent / "data"


def _reset_postgresql(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgresql),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file in tmp_path, or the CI PostgreSQL, emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pilots.db'}"
    if not PG_URL:
        pytest.skip("PILOTS_TEST_DATABASE_URL is not set (CI sets it)")
    _reset_postgresql(PG_URL)
    return PG_URL


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on an up-to-date schema."""
    eng = db.make_engine(db_url)
    db.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session in one transaction, committed at the end of the test."""
    factory = db.session_factory(engine)
    with db.session_scope(factory) as s:
        yield s


class Pilots:
    """Runs the ``pilots`` command in-process against one database."""

    def __init__(self, db_url: str, cwd: Path) -> None:
        self.db_url = db_url
        self.cwd = cwd

    def __call__(self, *args: str, ok: bool = True) -> Result:
        runner = CliRunner()
        old = Path.cwd()
        os.chdir(self.cwd)
        try:
            result = runner.invoke(cli, ["--db", self.db_url, *args], catch_exceptions=False)
        finally:
            os.chdir(old)
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result


@pytest.fixture
def pilots(db_url: str, tmp_path: Path) -> Pilots:
    """Call as ``pilots("org", "list")``; asserts exit status 0 unless ``ok=False``."""
    return Pilots(db_url, tmp_path)
