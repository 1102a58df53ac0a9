"""Departments: the organisation file and matching departments by name."""

from __future__ import annotations

import threading
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilots import db
from pilots.errors import InputFileError
from pilots.org import DepartmentResolver, import_org, list_departments
from pilots.tables import Department
from tests.conftest import until_a_session_waits_for_a_lock

ORG_CSV = (
    "所属コード,所属名,上位所属コード\n"
    "100,総務部,\n110,ＩＴ・業務改革課,100\n120,人事課,100\n200,健康福祉部,\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_import_csv_in_each_encoding(session: Session, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "org.csv"
    path.write_bytes(ORG_CSV.replace("\n", "\r\n").encode(encoding))
    result = import_org(session, path)
    assert (result.rows, result.added, result.updated) == (4, 4, 0)
    rows = {r.code: r for r in list_departments(session)}
    assert rows["110"].name == "ＩＴ・業務改革課"
    assert rows["110"].parent_code == "100"
    assert rows["200"].parent_code is None


def test_import_xlsx_with_title_rows_and_numeric_codes(session: Session, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["令和元年度 所属一覧"])  # a title above the header, as offices write them
    ws.append([])
    ws.append(["所属コード", "所属名", "上位所属コード"])
    ws.append([100, "総務部", None])
    ws.append([110, "人事課", 100])
    path = tmp_path / "org.xlsx"
    book.save(path)
    result = import_org(session, path)
    assert result.added == 2
    assert [(r.code, r.parent_code) for r in list_departments(session)] == [
        ("100", None),
        ("110", "100"),
    ]


def test_english_headers_are_accepted(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_text("code,name,parent_code\nA1,総務部,\n", encoding="utf-8")
    assert import_org(session, path).added == 1


def test_reimport_updates_by_code(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_text(ORG_CSV, encoding="utf-8")
    import_org(session, path)
    path.write_text(
        "所属コード,所属名,上位所属コード\n100,総務部,\n110,デジタル推進課,100\n120,人事課,200\n200,健康福祉部,\n",
        encoding="utf-8",
    )
    result = import_org(session, path)
    assert (result.added, result.updated, result.unchanged) == (0, 2, 2)
    rows = {r.code: r for r in list_departments(session)}
    assert rows["110"].name == "デジタル推進課"
    assert rows["120"].parent_code == "200"


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("100,総務部,\n,人事課,100\n", 3, "所属コードが空"),
        ("100,総務部,\n110,,100\n", 3, "所属名が空"),
        ("100,総務部,\n100,人事課,\n", 3, "重複"),
        ("100,総務部,\n110,人事課,999\n", 3, "上位所属コード 999"),
        ("100,総務部,\n110,総務部 ,\n", 3, "所属名 総務部 が2行目と重複"),
        ("100,総務部,110\n110,人事課,100\n", 2, "循環"),
    ],
)
def test_bad_rows_refuse_the_file_and_name_the_row(
    session: Session, tmp_path: Path, body: str, line: int, message: str
) -> None:
    path = tmp_path / "org.csv"
    path.write_text("所属コード,所属名,上位所属コード\n" + body, encoding="utf-8")
    with pytest.raises(InputFileError, match=message) as info:
        import_org(session, path)
    assert info.value.line == line
    assert f"{line}行目" in str(info.value)
    assert str(path) in str(info.value)


def test_missing_column_lists_accepted_headers(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_text("番号,名前\n1,総務部\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="所属コード"):
        import_org(session, path)


def test_resolver_matches_after_nfkc_and_trimming(session: Session) -> None:
    session.add(Department(code="110", name="IT・業務改革課", name_key="IT・業務改革課"))
    session.flush()
    resolve = DepartmentResolver(session, created_by="asr import")
    assert resolve("ＩＴ・業務改革課　").code == "110"
    assert resolve(" IT・業務改革課").code == "110"
    created = resolve("ＲＰＡ推進室")
    assert created.name_key == "RPA推進室"
    assert resolve("RPA推進室 ") is created
    assert resolve.created == ["ＲＰＡ推進室"]  # reported as written
    with pytest.raises(ValueError):
        resolve("　")


def test_org_file_gives_code_to_department_created_by_another_import(
    session: Session, tmp_path: Path
) -> None:
    DepartmentResolver(session, created_by="asr import")("人事課")
    path = tmp_path / "org.csv"
    path.write_text("所属コード,所属名\n120,人事課\n", encoding="utf-8")
    result = import_org(session, path)
    assert (result.added, result.updated) == (0, 1)
    dept = session.scalar(select(Department).where(Department.name_key == "人事課"))
    assert dept is not None and dept.code == "120" and dept.created_by == "asr import"


def test_two_imports_meeting_the_same_new_department_share_it(engine: Engine) -> None:
    """PostgreSQL lets two transactions insert at once: the second waits and uses the first's row.

    (On SQLite every writer holds the write lock from its first statement, so they never overlap.)
    """
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises writers")
    factory = db.session_factory(engine)
    first = factory()
    first.begin()
    mine = DepartmentResolver(first, created_by="asr import")("新設課")
    result: dict[str, object] = {}

    def second_import() -> None:
        with db.session_scope(factory) as session:
            resolver = DepartmentResolver(session, created_by="survey import")
            result["id"] = resolver("新設課 ").id
            result["created"] = resolver.created

    worker = threading.Thread(target=second_import, daemon=True)
    try:
        worker.start()
        until_a_session_waits_for_a_lock(engine)  # the second, on the first's new row
        first.commit()
        worker.join(timeout=30)
        assert not worker.is_alive()
    finally:
        first.rollback()
        first.close()
    assert result == {"id": mine.id, "created": []}
