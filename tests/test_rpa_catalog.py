"""RPA task catalog (業務台帳): columns, Japanese headers, re-import by task_id, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pilots.errors import InputFileError
from pilots.rpa.catalog import import_catalog, list_tasks
from pilots.tables import RpaTask, RpaTaskScenario
from tests.conftest import Pilots

DATA = Path(__file__).parent / "data" / "rpa"
HEADER = (
    "業務ID,業務名,所属,シナリオ名,手作業時間(分/件),件数(件/回),残作業時間(分/回),"
    "例外対応時間(分/回)\n"
)


def _write(tmp_path: Path, body: str, name: str = "catalog.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def test_catalog_with_japanese_headers(session: Session) -> None:
    result = import_catalog(session, DATA / "catalog.csv")
    assert (result.rows, result.added, result.updated, result.scenarios) == (3, 3, 0, 7)
    assert result.departments_created == ["会計課", "人事課", "商工政策課"]
    tasks = {t.task_id: t for t in list_tasks(session)}
    assert tasks["T02"].scenarios == ["Attendance_Summary", "勤怠集計", "勤怠集計フロー"]
    assert tasks["T03"].exception_minutes_per_failure == 0.0  # blank cell = 0
    assert tasks["T01"].manual_minutes_per_case == 6.0


def test_english_headers_cp932_and_xlsx(session: Session, tmp_path: Path) -> None:
    header = (
        "task_id,task_name,department,scenario,manual_minutes_per_case,cases_per_run,"
        "residual_minutes_per_run,exception_minutes_per_failure\r\n"
    )
    path = tmp_path / "cat.csv"
    path.write_bytes(
        (header + "A1,給与明細配信,ＩＴ・業務改革課　,給与明細；給与明細_v2,2,100,5,10\r\n").encode(
            "cp932"
        )
    )
    import_catalog(session, path)
    (task,) = list_tasks(session)
    assert task.department == "ＩＴ・業務改革課"
    assert task.scenarios == ["給与明細", "給与明細_v2"]  # full-width ; separates too

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["業務台帳 令和元年度"])  # a title row above the header is skipped
    sheet.append(HEADER.strip().split(","))
    sheet.append(["A2", "旅費計算", "総務課", "旅費計算", 4.5, 12, 3, 15])
    xlsx = tmp_path / "cat.xlsx"
    book.save(xlsx)
    import_catalog(session, xlsx)
    assert {t.task_id for t in list_tasks(session)} == {"A1", "A2"}


def test_reimport_updates_by_task_id(session: Session, tmp_path: Path) -> None:
    import_catalog(session, DATA / "catalog.csv")
    again = import_catalog(session, DATA / "catalog.csv")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    changed = _write(
        tmp_path,
        "T01,請求書登録,会計課,請求書登録;InvoiceRegistration;請求書登録_v2,7,20,10,30\n"
        # a name moves from T02 to T03 within one file: allowed
        "T02,勤怠集計,人事課,勤怠集計;勤怠集計フロー,3,50,15,20\n"
        "T03,受注データ転記,商工政策課,受注データ転記;OrderTransfer;Attendance_Summary,4,10,5,\n",
    )
    result = import_catalog(session, changed)
    assert (result.added, result.updated, result.unchanged) == (0, 3, 0)
    tasks = {t.task_id: t for t in list_tasks(session)}
    assert tasks["T01"].manual_minutes_per_case == 7.0
    assert "Attendance_Summary" in tasks["T03"].scenarios
    assert session.scalar(select(func.count()).select_from(RpaTask)) == 3
    assert session.scalar(select(func.count()).select_from(RpaTaskScenario)) == 8


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "T1,業務,課,シナリオ,-1,1,0,0\n",
            "2行目（列「手作業時間(分/件)」）: 手作業時間(分/件)は0より大きい",
        ),
        (
            "T1,業務,課,シナリオ,5,1,-3,0\n",
            "2行目（列「残作業時間(分/回)」）: 残作業時間(分/回)は0以上",
        ),
        ("T1,業務,課,シナリオ,5,0,0,0\n", "件数(件/回)は0より大きい"),
        ("T1,業務,課,, 5,1,0,0\n", "2行目（列「シナリオ名」）: シナリオ名が空です"),
        ("T1,業務,課,;,5,1,0,0\n", "シナリオ名が空です"),
        ("T1,業務,課,シナリオ,abc,1,0,0\n", "数値ではありません: abc"),
        ("T1,業務,課,シナリオ,,1,0,0\n", "手作業時間(分/件)が空です"),
        ("T1,業務,,シナリオ,5,1,0,0\n", "所属が空です"),
        (
            "T1,業務,課,A,5,1,0,0\nT1,業務2,課,B,5,1,0,0\n",
            "3行目: 業務ID T1 が2行目と重複しています",
        ),
        (
            "T1,業務,課,A,5,1,0,0\nT2,業務2,課,Ａ,5,1,0,0\n",
            "3行目（列「シナリオ名」）: シナリオ名「Ａ」が2行目",
        ),
    ],
)
def test_impossible_values_refuse_the_file(
    session: Session, tmp_path: Path, body: str, message: str
) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(InputFileError) as info:
        import_catalog(session, path)
    assert message in str(info.value)
    assert str(info.value).startswith(str(path))


def test_missing_column_is_named(session: Session, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "T1,業務,課,A,5\n", header="業務ID,業務名,所属,シナリオ名,手作業時間(分/件)\n"
    )
    with pytest.raises(InputFileError, match="見出し行が見つかりません"):
        import_catalog(session, path)


def test_scenario_of_another_task_is_refused(session: Session, tmp_path: Path) -> None:
    import_catalog(session, DATA / "catalog.csv")
    path = _write(tmp_path, "T09,新業務,会計課,勤怠集計,5,1,0,0\n")
    with pytest.raises(InputFileError, match="登録済みの業務 T02 に属しています"):
        import_catalog(session, path)


def test_catalog_cli(pilots: Pilots, tmp_path: Path) -> None:
    out = pilots("rpa", "catalog", str(DATA / "catalog.csv")).output
    assert "3業務（追加 3、更新 0、変更なし 0、シナリオ名 7件）" in out
    assert "新規登録した所属: 会計課、人事課、商工政策課" in out
    listing = pilots("rpa", "tasks").output
    assert "InvoiceRegistration" in listing and "商工政策課" in listing
    data = json.loads(pilots("rpa", "tasks", "--json").output)
    assert [t["task_id"] for t in data] == ["T01", "T02", "T03"]
    bad = _write(tmp_path, "T1,業務,課,シナリオ,-1,1,0,0\n")
    result = pilots("rpa", "catalog", str(bad), ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"エラー: {bad} 2行目")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "T1" not in pilots("rpa", "tasks").output  # nothing half-written
