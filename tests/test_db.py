"""The database: URLs, migrations on empty and existing databases, concurrent SQLite writers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text

from pilots import db
from pilots.errors import DatabaseError
from pilots.tables import Department


def test_upgrade_creates_schema_on_empty_database(db_url: str) -> None:
    engine = db.make_engine(db_url)
    assert db.upgrade(engine) is True
    with engine.connect() as conn:
        assert db.current_revision(conn) == db.head_revision()
    assert "departments" in inspect(engine).get_table_names()
    assert db.upgrade(engine) is False  # second time: nothing to do
    engine.dispose()


def test_the_quick_schema_check_knows_the_newest_migration() -> None:
    # A migration added without moving HEAD_REVISION would never be applied to
    # a database at the previous head: the quick check would call it current.
    assert db.head_revision() == db.HEAD_REVISION


def test_a_database_one_migration_behind_is_brought_up_to_date(db_url: str) -> None:
    from alembic import command

    engine = db.make_engine(db_url)
    db.upgrade(engine)
    with engine.begin() as conn:
        command.downgrade(db._alembic_config(conn), "0016")
    assert "asr_rules" not in inspect(engine).get_table_names()
    assert db.upgrade(engine) is True
    assert "asr_rules" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert db.current_revision(conn) == db.HEAD_REVISION
    engine.dispose()


def test_sqlite_sorts_with_a_helper_thread_per_core(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA threads").scalar() == db.SORTER_THREADS


def test_upgrade_keeps_data_of_existing_database(db_url: str) -> None:
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO departments (name, name_key, created_by)"
                " VALUES ('総務課', '総務課', 'org')"
            )
        )
    engine.dispose()
    again = db.make_engine(db_url)
    assert db.upgrade(again) is False
    with again.connect() as conn:
        assert conn.scalar(select(Department.name)) == "総務課"
    again.dispose()


def test_database_from_newer_pilots_is_refused(db_url: str) -> None:
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(DatabaseError, match="新しい版"):
        db.upgrade(engine)
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_busy_timeout(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_folder_is_created_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "deeper" / "pilots.db"
    with pytest.raises(DatabaseError, match="データベースのフォルダがありません"):
        db.make_engine(f"sqlite:///{target}")
    assert not target.parent.exists()
    engine = db.make_engine(f"sqlite:///{target}", create_folder=True)
    db.upgrade(engine)
    engine.dispose()
    assert target.is_file()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nonsense", "解釈できません"),
        ("mysql://u:p@localhost/x", "対応していない"),
        ("postgresql://u:secret@127.0.0.1:1/x", "接続できません"),
    ],
)
def test_bad_urls_give_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(DatabaseError, match=message) as info:
        db.upgrade(db.make_engine(url))
    assert "secret" not in str(info.value)


def test_processes_opening_a_new_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    """Two processes open one new file together, twelve times over: none is refused.

    Switching a new file to WAL takes a lock that SQLite's busy timeout does not
    wait for: a process connecting while the other was switching or creating
    the schema was told "database is locked" (seen in about one race in three
    of two ``pilots rpa ingest`` started together).
    """
    script = textwrap.dedent(
        """
        import sys
        from pilots import db
        db.upgrade(db.make_engine(sys.argv[1]))
        """
    )
    for round_ in range(12):
        url = f"sqlite:///{tmp_path / f'new{round_}.db'}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script, url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for p in procs:
            _out, err = p.communicate(timeout=120)
            assert p.returncode == 0, f"round {round_}: {err}"


def test_two_processes_writing_at_once_both_succeed(tmp_path: Path) -> None:
    """Two `pilots org import` runs started together on one new SQLite file both land.

    They race on creating the schema and then on writing; WAL, the busy
    timeout and BEGIN IMMEDIATE make the second wait instead of failing.
    """
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    files = []
    for n in range(2):
        f = tmp_path / f"org{n}.csv"
        rows = "\n".join(f"{n}{i:03d},部署{n}-{i}," for i in range(300))
        f.write_text("所属コード,所属名,上位所属コード\n" + rows + "\n", encoding="utf-8")
        files.append(f)
    script = textwrap.dedent(
        """
        import sys
        from pilots.cli import main
        sys.argv = ["pilots", "--db", sys.argv[1], "org", "import", sys.argv[2]]
        main()
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, str(f)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=False):
        assert p.returncode == 0, err
        assert "追加 300" in out
    engine = db.make_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM departments")) == 600
    engine.dispose()
