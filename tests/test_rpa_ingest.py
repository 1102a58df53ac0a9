"""RPA run logs: each vendor's export, encodings, detection, idempotency, rejects, concurrency."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from pilots import db
from pilots.errors import InputFileError
from pilots.rpa.catalog import import_catalog
from pilots.rpa.formats.wmc import HEADER as WMC_HEADER
from pilots.rpa.ingest import ingest_file, list_rejects
from pilots.rpa.logfile import detect_encoding
from pilots.tables import RpaImport, RpaReject, RpaRun
from tests.conftest import POSIX_ONLY, Pilots

DATA = Path(__file__).parent / "data" / "rpa"


def _runs(session: Session, fmt: str) -> dict[str, RpaRun]:
    return {r.run_key: r for r in session.scalars(select(RpaRun).where(RpaRun.format == fmt))}


def _by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(RpaRun.status, func.count()).group_by(RpaRun.status))
    return {status: n for status, n in rows}


def test_wmc_export_cp932(session: Session) -> None:
    import_catalog(session, DATA / "catalog.csv")
    result = ingest_file(session, DATA / "wmc_tasks.csv")
    assert (result.format, result.encoding) == ("wmc", "cp932")
    # 12 rows: 10 runs, 2 rejects (2019/02/30, no scenario); 売上日報作成 (ERROR and
    # WAITING) is in no task of the catalog.
    assert (result.rows, result.runs_added, result.duplicates, result.rejected) == (12, 10, 0, 2)
    assert result.unmatched == 2
    assert [(s.scenario, s.runs) for s in result.unmatched_scenarios] == [("売上日報作成", 2)]
    runs = _runs(session, "wmc")
    first = runs["8a80818f8f1a2b3c018f1e0a00010001"]
    assert (first.status, first.status_raw, first.final) == ("success", "FINISH", True)
    assert first.started_at is not None and first.started_at.isoformat() == "2019-05-13T09:00:05"
    assert (first.run_day, first.robot, first.cases) == (20190513, "robo01@192.168.10.21", None)
    assert runs["8a80818f8f1a2b3c018f1e0a00010004"].status == "failure"  # HALT
    error = runs["8a80818f8f1a2b3c018f1e0a00010006"]
    assert (error.status, error.line) == ("failure", 7)
    # The error code, the message and the retry count each in their own column.
    assert (error.error_code, error.retries) == ("E0305", 0)
    assert error.message == (
        'ファイル "C:\\共有\\売上\\日報.xlsx" を開けません。\r\n別のプロセスが使用中です。'
    )
    assert (first.error_code, first.message) == ("", "")  # the columns are there, blank
    assert runs["8a80818f8f1a2b3c018f1e0a00010003"].retries == 1  # 勤怠集計_0513_retry1
    waiting = runs["8a80818f8f1a2b3c018f1e0a00010007"]
    assert (waiting.status, waiting.final, waiting.started_at) == ("other", False, None)
    assert waiting.run_day == 20190604  # no start or end: its creation time
    assert runs["8a80818f8f1a2b3c018f1e0a00010005"].status == "other"  # CANCEL
    assert _by_status(session) == {"success": 5, "failure": 3, "other": 2}
    rejects = list_rejects(session)
    # The multi-line error of line 7 ends on line 8, so the rejected rows are 13 and 14.
    assert [(r.line, r.reason) for r in rejects] == [
        (13, "開始日時が読めません（日付として正しくありません: 2019/02/30）"),
        (14, "シナリオ名が空です"),
    ]
    assert rejects[0].file == str(DATA / "wmc_tasks.csv")
    assert rejects[0].raw.startswith("8a80818f8f1a2b3c018f1e0a00010011,請求書登録_0230,")


def test_wmc_header_is_the_specifications() -> None:
    # WinActor Manager API - MoC v3.8.yaml, /tasks/csv: 31 fixed columns, 実行時間（秒） full-width.
    assert len(WMC_HEADER) == 31
    assert WMC_HEADER[18] == "実行時間（秒）"
    raw = (DATA / "wmc_tasks.csv").read_bytes()
    assert raw.split(b"\r\n")[0].decode("cp932").split(",") == list(WMC_HEADER)


def test_reingest_same_and_utf8_export_adds_nothing(session: Session) -> None:
    first = ingest_file(session, DATA / "wmc_tasks.csv")
    again = ingest_file(session, DATA / "wmc_tasks.csv")
    utf8 = ingest_file(session, DATA / "wmc_tasks_utf8.csv")
    assert utf8.encoding == "utf-8"
    for result in (again, utf8):
        assert (result.runs_added, result.runs_updated, result.duplicates) == (0, 0, 10)
        assert result.rejected == 2  # still reported for the file ...
    assert first.runs_added == 10
    count = session.scalar(select(func.count()).select_from(RpaRun))
    assert count == 10
    # ... stored once per file: the same file again adds none; the UTF-8 export is another
    # file, whose rows are listed with its own name and lines (SPEC §4).
    assert session.scalar(select(func.count()).select_from(RpaReject)) == 4
    assert session.scalar(select(func.count()).select_from(RpaImport)) == 3


def test_overlapping_export_adds_only_new_runs(session: Session) -> None:
    ingest_file(session, DATA / "wmc_tasks.csv")
    result = ingest_file(session, DATA / "wmc_tasks_overlap.csv")
    # rows 8–12 of the first export again (3 runs, 2 rejects) and one new run
    assert (result.rows, result.runs_added, result.duplicates, result.rejected) == (6, 1, 3, 2)
    assert session.scalar(select(func.count()).select_from(RpaRun)) == 11


def test_waiting_run_is_replaced_when_it_finishes(session: Session, tmp_path: Path) -> None:
    ingest_file(session, DATA / "wmc_tasks.csv")
    raw = (DATA / "wmc_tasks.csv").read_bytes().decode("cp932")
    lines = raw.split("\r\n")
    waiting = next(line for line in lines if ",WAITING," in line)
    cells = waiting.split(",")
    cells[4], cells[15], cells[16] = "FINISH", "2019/06/04 18:00:01", "2019/06/04 18:00:50"
    later = tmp_path / "later.csv"
    later.write_bytes(("\r\n".join([lines[0], ",".join(cells)]) + "\r\n").encode("cp932"))
    result = ingest_file(session, later)
    assert (result.runs_added, result.runs_updated, result.duplicates) == (0, 1, 0)
    run = _runs(session, "wmc")[cells[0]]
    assert (run.status, run.status_raw, run.final) == ("success", "FINISH", True)
    # A final run is never replaced: the old export again changes nothing.
    back = ingest_file(session, DATA / "wmc_tasks.csv")
    assert (back.runs_updated, back.duplicates) == (0, 10)
    assert _runs(session, "wmc")[cells[0]].status == "success"


def test_uipath_api_times_become_japan_time(session: Session) -> None:
    result = ingest_file(session, DATA / "uipath_jobs_api.csv")
    assert (result.format, result.rows, result.runs_added, result.rejected) == ("uipath", 5, 5, 0)
    runs = _runs(session, "uipath")
    ok = runs["1c7222dc-416f-4c60-9b17-88262c91768f"]
    assert ok.started_at is not None
    assert ok.started_at.isoformat() == "2019-05-13T09:00:05.790000"  # 00:00:05.79Z
    assert (ok.status, ok.robot, ok.message) == ("success", "RPA-VM01", "Job completed")
    assert (ok.error_code, ok.retries) == (None, None)  # a UiPath job has neither
    faulted = runs["9fbdfca0-d1e5-41c2-abe6-86fe626346a3"]
    # 2019-08-31T15:30:03Z is September 1 in Japan: that is its month.
    assert (faulted.status, faulted.run_day) == ("failure", 20190901)
    assert faulted.message.startswith("System.Exception: Could not find the UI element")
    stopped = runs["e29e472d-5d51-4369-9c15-af867e6dd580"]
    assert (stopped.status, stopped.final) == ("other", True)
    running = runs["374ba45a-6bf5-4f0a-9ed8-571fe5378db5"]
    assert running.started_at is not None
    assert running.started_at.isoformat() == "2019-05-13T18:00:02.441333"  # 7 fraction digits
    pending = runs["5b8e1a43-2f7c-4d1a-8e0b-3a9c2e7f1d64"]
    assert (pending.status, pending.final, pending.run_day) == ("other", False, 20190513)


def test_uipath_grid_export_without_key(session: Session) -> None:
    result = ingest_file(session, DATA / "uipath_jobs_grid.csv")
    assert (result.format, result.encoding, result.runs_added) == ("uipath", "utf-8-sig", 4)
    assert _by_status(session) == {"success": 1, "failure": 1, "other": 2}
    keys = set(_runs(session, "uipath"))
    assert all(k.startswith("#") and len(k) == 41 for k in keys)  # content hashes
    again = ingest_file(session, DATA / "uipath_jobs_grid.csv")
    assert (again.runs_added, again.duplicates) == (0, 4)
    started = {r.scenario_key: r.started_at for r in _runs(session, "uipath").values()}
    assert str(started["InvoiceRegistration"]) == "2019-06-10 09:00:05"  # local time kept


def test_pad_logical_and_display_exports(session: Session) -> None:
    logical = ingest_file(session, DATA / "pad_flowsessions.csv")
    assert (logical.format, logical.runs_added) == ("pad", 5)
    runs = _runs(session, "pad")
    ok = runs["3f2b6c1e-8a4d-ee11-be6e-000d3a8f1a01"]
    assert (ok.status, ok.scenario_key, ok.run_day) == ("success", "勤怠集計フロー", 20190930)
    failed = runs["4c9d7e2f-8a4d-ee11-be6e-000d3a8f1a02"]
    # 15:00:09Z on September 30 is 00:00:09 on October 1 in Japan.
    assert (failed.status, failed.run_day) == ("failure", 20191001)
    assert failed.error_code == "WindowNotFound"
    assert failed.message == "Failed to get window. Window '勤怠システム' not found."
    assert failed.retries is None
    assert runs["5d0e8f3a-8a4d-ee11-be6e-000d3a8f1a03"].status == "failure"  # TimedOut (10)
    assert runs["6e1f904b-8a4d-ee11-be6e-000d3a8f1a04"].final is True  # Cancelled (7)
    assert runs["7f20a15c-8a4d-ee11-be6e-000d3a8f1a05"].final is False  # Running (2)
    display = ingest_file(session, DATA / "pad_flowsessions_display.csv")
    # The same five sessions by their ids; the running one has succeeded since.
    assert (display.runs_added, display.runs_updated, display.duplicates) == (0, 1, 4)
    assert _runs(session, "pad")["7f20a15c-8a4d-ee11-be6e-000d3a8f1a05"].status == "success"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Succeeded", "success"),
        ("Failed", "failure"),
        ("Faulted", "failure"),
        ("TimedOut", "failure"),
        ("Aborted", "failure"),
        ("Terminated", "failure"),
        ("14", "failure"),
        ("Cancelled", "other"),
        ("Skipped", "other"),
        ("Something new", "other"),
    ],
)
def test_pad_status_mapping(status: str, expected: str) -> None:
    from pilots.rpa.formats.pad import FORMAT

    assert FORMAT.classify(status)[0] == expected


@pytest.mark.parametrize(
    ("fmt", "status", "expected"),
    [
        ("wmc", "FINISH", "success"),
        ("wmc", "ERROR", "failure"),
        ("wmc", "HALT", "failure"),
        ("wmc", "CANCELING", "other"),
        ("wmc", "PROCESSING", "other"),
        ("wmc", "正常終了", "success"),
        ("wmc", "異常終了", "failure"),
        ("uipath", "Successful", "success"),
        ("uipath", "Faulted", "failure"),
        ("uipath", "Stopped", "other"),
        ("uipath", "5", "success"),
        ("generic", "成功", "success"),
        ("generic", "FAILURE", "failure"),
    ],
)
def test_status_mapping(fmt: str, status: str, expected: str) -> None:
    from pilots.rpa.formats import get_format

    assert get_format(fmt).classify(status)[0] == expected


def test_generic_log_rejects_and_item_counts(session: Session) -> None:
    result = ingest_file(session, DATA / "generic_runs.csv")
    assert (result.format, result.rows, result.runs_added, result.rejected) == ("generic", 6, 4, 2)
    runs = {r.line: r for r in _runs(session, "generic").values()}
    assert {line: r.cases for line, r in runs.items()} == {2: 35, 3: 8, 4: None, 7: 12}
    assert (runs[7].scenario_key, runs[7].status, runs[7].status_raw) == (
        "請求書登録",
        "success",
        "成功",
    )
    assert [(r.line, r.reason) for r in list_rejects(session)] == [
        (5, "シナリオ名が空です"),
        (6, "終了日時 2019-07-05 09:00:00 が開始日時 2019-07-05 10:00:00 より前です"),
    ]


def test_wrong_cell_count_and_negative_cases_are_rejected(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "scenario,started_at,ended_at,status,cases\n"
        "A,2019-07-01 09:00,2019-07-01 09:05,success,-2\n"
        "B,2019-07-01 09:00,success\n"
        "C,2019-07-01 09:00,2019-07-01 09:05,success,x\n"
        "\n"
        ",,,,\n"
        "D,2019/7/1 9:00,,failure,1\n",
        encoding="utf-8",
    )
    result = ingest_file(session, path)
    assert (result.rows, result.runs_added, result.rejected) == (4, 1, 3)
    reasons = [r.reason for r in list_rejects(session)]
    assert reasons == [
        "件数は0以上の整数にしてください: -2",
        "列の数が見出しと違います（3列、見出し5列）",
        "件数が数値ではありません: x",
    ]


_GENERIC_HEADER = "scenario,started_at,ended_at,status,cases\n"
_BAD_ROW = "請求書登録,2019-07-02 10:00:00,2019-07-02 09:00:00,success,1\n"
_GOOD_ROW = "請求書登録,2019-07-03 09:00:00,2019-07-03 09:05:00,success,1\n"


def test_identical_bad_rows_are_each_kept(pilots: Pilots, tmp_path: Path) -> None:
    """SPEC §4: every rejected row with file, line and reason, however alike they are."""
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(_GENERIC_HEADER + _BAD_ROW + _BAD_ROW + _GOOD_ROW, encoding="utf-8")
    second.write_text(_GENERIC_HEADER + _BAD_ROW + _BAD_ROW, encoding="utf-8")
    out = pilots("rpa", "ingest", str(first), str(second)).output
    assert "読めない行 4" in out.splitlines()[-2]
    listed = json.loads(pilots("rpa", "rejects", "--json").output)
    assert [(Path(r["file"]).name, r["line"]) for r in listed] == [
        ("a.csv", 2),
        ("a.csv", 3),
        ("b.csv", 2),
        ("b.csv", 3),
    ]
    # The same file again, from here or from another folder, adds none.
    copy = tmp_path / "copy" / "a.csv"
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())
    pilots("rpa", "ingest", str(first), str(copy))
    assert len(json.loads(pilots("rpa", "rejects", "--json").output)) == 4


def test_rejects_stored_before_the_upgrade_are_matched_after_it(tmp_path: Path) -> None:
    """Rejects keyed by content alone (before 0009) get their per-line key."""
    import hashlib

    from alembic import command

    path = tmp_path / "a.csv"
    path.write_text(_GENERIC_HEADER + _BAD_ROW + _BAD_ROW, encoding="utf-8")
    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        command.upgrade(db._alembic_config(conn), "0006")
        conn.execute(
            text(
                "INSERT INTO rpa_imports (id, file, format, rows, runs_added, runs_updated,"
                " duplicates, rejected, unmatched) VALUES (1, :f, 'generic', 2, 0, 0, 0, 1, 0)"
            ),
            {"f": str(path)},
        )
        raw = _BAD_ROW.strip()
        old_key = hashlib.sha256(f"generic\x1f{raw}".encode()).hexdigest()
        conn.execute(
            text(
                "INSERT INTO rpa_rejects (import_id, file, line, format, reason, raw, row_hash)"
                " VALUES (1, :f, 2, 'generic', 'old', :raw, :key)"
            ),
            {"f": str(path), "raw": raw, "key": old_key},
        )
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with db.session_scope(factory) as session:
        ingest_file(session, path)
    with db.session_scope(factory) as session:
        assert [(r.line, r.reason) for r in list_rejects(session)] == [
            (2, "old"),  # matched: not stored twice
            (3, "終了日時 2019-07-02 09:00:00 が開始日時 2019-07-02 10:00:00 より前です"),
        ]
    engine.dispose()


def test_runs_stored_before_error_codes_get_them_when_ingested_again(tmp_path: Path) -> None:
    """Runs stored before revision 0014 (at 0013) kept code and message joined; the same log
    again splits them."""
    from alembic import command

    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    key = "8a80818f8f1a2b3c018f1e0a00010006"
    joined = (
        'E0305 ファイル "C:\\共有\\売上\\日報.xlsx" を開けません。\r\n別のプロセスが使用中です。'
    )
    with engine.begin() as conn:
        command.upgrade(db._alembic_config(conn), "0013")
        conn.execute(
            text(
                "INSERT INTO rpa_imports (id, file, format, rows, runs_added, runs_updated,"
                " duplicates, rejected, unmatched) VALUES (1, 'old.csv', 'wmc', 1, 1, 0, 0, 0, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO rpa_runs (import_id, line, format, run_key, scenario_key, status,"
                " status_raw, final, started_at, ended_at, run_day, robot, message)"
                " VALUES (1, 7, 'wmc', :key, '受注データ転記', 'failure', 'ERROR', 1,"
                " '2019-05-13 13:00:06', '2019-05-13 13:00:30', 20190513, 'robo02', :message)"
            ),
            {"key": key, "message": joined},
        )
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with db.session_scope(factory) as session:
        old = _runs(session, "wmc")[key]
        assert (old.error_code, old.retries, old.message) == (None, None, joined)
        result = ingest_file(session, DATA / "wmc_tasks.csv")
        assert (result.runs_added, result.runs_updated) == (9, 1)
    with db.session_scope(factory) as session:
        run = _runs(session, "wmc")[key]
        assert (run.error_code, run.retries) == ("E0305", 0)
        assert run.message is not None and run.message.startswith("ファイル")
        # Once they are there, the same export again changes nothing.
        again = ingest_file(session, DATA / "wmc_tasks.csv")
        assert (again.runs_added, again.runs_updated, again.duplicates) == (0, 0, 10)
    with engine.begin() as conn:  # and back: code and message joined again
        command.downgrade(db._alembic_config(conn), "0013")
        message = conn.scalar(text("SELECT message FROM rpa_runs WHERE run_key = :k"), {"k": key})
        assert message == joined
    engine.dispose()


def test_xlsx_run_log(session: Session, tmp_path: Path) -> None:
    from datetime import datetime

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(
        ["FlowSession", "Name", "Status Reason", "Started On", "Completed On", "Regarding"]
    )
    sheet.append(
        [
            "id-1",
            "x",
            "Succeeded",
            datetime(2019, 6, 3, 9, 0),
            datetime(2019, 6, 3, 9, 5),
            "勤怠集計フロー",
        ]
    )
    sheet.append(["id-2", "x", "Failed", datetime(2019, 6, 4, 0, 0), None, "勤怠集計フロー"])
    path = tmp_path / "runs.xlsx"
    book.save(path)
    result = ingest_file(session, path)
    assert (result.format, result.encoding, result.runs_added) == ("pad", None, 2)
    assert _runs(session, "pad")["id-2"].run_day == 20190604


def test_encodings_are_detected(tmp_path: Path) -> None:
    assert detect_encoding(DATA / "wmc_tasks.csv") == "cp932"
    assert detect_encoding(DATA / "wmc_tasks_utf8.csv") == "utf-8"
    assert detect_encoding(DATA / "generic_runs.csv") == "utf-8-sig"
    # ASCII at first, CP932 far into the file: the whole file decides.
    late = tmp_path / "late.csv"
    body = "scenario,started_at,ended_at,status\r\n" + "A,2019-07-01,,other\r\n" * 80_000
    late.write_bytes(body.encode("ascii") + "売上日報,2019-07-02,,other\r\n".encode("cp932"))
    assert detect_encoding(late) == "cp932"


def test_unknown_layout_lists_what_each_format_expects(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("日付,件名,担当\n2019-04-01,会議,山田\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        ingest_file(session, path)
    message = str(info.value)
    assert "実行ログの形式を判別できません（見出し: 日付, 件名, 担当）" in message
    for expected in ("wmc: タスクID", "uipath: Key", "pad: name, statuscode", "generic: scenario"):
        assert expected in message
    with pytest.raises(
        InputFileError, match="UiPath Orchestrator ジョブ（uipath）の見出しではありません"
    ):
        ingest_file(session, DATA / "wmc_tasks.csv", "uipath")


def test_ingest_cli_json_and_listings(pilots: Pilots) -> None:
    pilots("rpa", "catalog", str(DATA / "catalog.csv"))
    files = [str(DATA / name) for name in ("wmc_tasks.csv", "generic_runs.csv")]
    data = json.loads(pilots("rpa", "ingest", *files, "--json").output)
    assert {"files", "rows", "runs_added", "duplicates", "rejected", "unmatched"} <= set(data)
    assert (data["rows"], data["runs_added"], data["duplicates"], data["rejected"]) == (
        18,
        14,
        0,
        4,
    )
    assert data["unmatched"] == 2
    assert [f["format"] for f in data["files"]] == ["wmc", "generic"]
    out = pilots("rpa", "ingest", files[0]).output
    assert "12行 — 追加 0、更新 0、重複 10、読めない行 2" in out
    assert "未登録シナリオ: 売上日報作成（2回）" in out
    rejects = pilots("rpa", "rejects").output
    assert "wmc_tasks.csv" in rejects and "シナリオ名が空です" in rejects
    only = json.loads(pilots("rpa", "rejects", "--file", files[1], "--json").output)
    assert [r["line"] for r in only] == [5, 6]
    unmatched = pilots("rpa", "unmatched").output
    assert "売上日報作成" in unmatched and "2019-06-03" in unmatched


def test_layout_errors_refuse_before_anything_is_written(pilots: Pilots, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    result = pilots("rpa", "ingest", str(DATA / "wmc_tasks.csv"), str(bad), ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"エラー: {bad} 1行目: 実行ログの形式を判別できません")
    assert "読めなかった行はありません" in pilots("rpa", "rejects").output  # first file not loaded


def _wmc_rows(count: int, start: int = 0) -> bytes:
    lines = []
    for n in range(start, start + count):
        cells = [""] * 31
        cells[0], cells[3], cells[4] = f"task{n:010d}", "請求書登録", "FINISH"
        cells[15], cells[16] = "2019/05/13 09:00:05", "2019/05/13 09:04:41"
        lines.append(",".join(cells))
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def _wmc_file(path: Path, count: int, start: int = 0) -> Path:
    path.write_bytes((",".join(WMC_HEADER) + "\r\n").encode("cp932") + _wmc_rows(count, start))
    return path


_INGEST = textwrap.dedent(
    """
    import sys
    from pilots.cli import main
    sys.argv = ["pilots", "--db", sys.argv[1], "rpa", "ingest", sys.argv[2]]
    main()
    """
)


def test_two_ingests_at_once_both_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    files = [_wmc_file(tmp_path / f"w{i}.csv", 3000, start=i * 3000) for i in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _INGEST, url, str(f)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "追加 3,000" in out
    engine = db.make_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM rpa_runs")) == 6000
    engine.dispose()


def _write_lock_free(path: Path) -> bool:
    """Whether a writer could start on the SQLite file now (no other transaction writes)."""
    import sqlite3

    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


@POSIX_ONLY
def test_killed_ingest_leaves_the_database_as_before(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    small = _wmc_file(tmp_path / "small.csv", 10)
    subprocess.run([sys.executable, "-c", _INGEST, url, str(small)], check=True, timeout=120)
    big = _wmc_file(tmp_path / "big.csv", 400_000, start=100)
    proc = subprocess.Popen(
        [sys.executable, "-c", _INGEST, url, str(big)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill it in the middle of its transaction: once it has held the write lock
    # for half a second (the whole file takes seconds). Its pages stay in its
    # 128 MB cache until the commit writes them to the WAL at once, so waiting
    # for the WAL to grow, as this test did, killed it during the commit and,
    # now and then, just after it.
    locked_since: float | None = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if not _write_lock_free(tmp_path / "kill.db"):
            locked_since = locked_since or time.monotonic()
            if time.monotonic() - locked_since >= 0.5:
                break
        else:
            locked_since = None
        time.sleep(0.02)
    assert proc.poll() is None, "the ingest finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM rpa_runs")) == 10
        assert conn.scalar(text("SELECT count(*) FROM rpa_imports")) == 1
    engine.dispose()
    # and the database still takes the file afterwards
    again = _wmc_file(tmp_path / "again.csv", 5, start=10_000_000)
    subprocess.run([sys.executable, "-c", _INGEST, url, str(again)], check=True, timeout=120)


@POSIX_ONLY
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_parser_process_ends_with_a_killed_ingest(tmp_path: Path, how: str) -> None:
    """Killing `pilots rpa ingest` on a large file leaves no parser process behind.

    A parser left running would hold its memory and the database files open
    forever; SIGTERM stops the ingest as Ctrl-C does (nothing stored, one line).
    """
    import psutil

    url = f"sqlite:///{tmp_path / 'kill.db'}"
    big = _wmc_file(tmp_path / "big.csv", 300_000)
    proc = subprocess.Popen(
        [sys.executable, "-c", _INGEST, url, str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    parent = psutil.Process(proc.pid)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while not children and proc.poll() is None and time.monotonic() < deadline:
            children = parent.children()
            time.sleep(0.01)
        assert children, "the ingest did not start a parser process"
        os.kill(proc.pid, getattr(signal, how))
        proc.wait(timeout=60)
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], "the parser process outlived the ingest"
    finally:
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        _, err = proc.communicate(timeout=60)  # a parser left running holds the pipes open
    if how == "SIGTERM":
        assert proc.returncode == 143
        assert err.decode().splitlines()[-1] == "中断しました"
        engine = db.make_engine(url)
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM rpa_runs")) == 0
        engine.dispose()


def _stored(session: Session) -> list[tuple[object, ...]]:
    columns: tuple[str, ...] = ("format", "run_key", "line", "scenario", "scenario_key")
    columns += ("status", "status_raw", "final", "started_at", "ended_at", "run_day", "cases")
    columns += ("robot", "error_code", "message", "retries")
    runs = session.scalars(select(RpaRun).order_by(RpaRun.format, RpaRun.run_key))
    return [tuple(getattr(r, c) for c in columns) for r in runs]


@pytest.mark.parametrize(
    "name", ["wmc_tasks.csv", "uipath_jobs_api.csv", "pad_flowsessions.csv", "generic_runs.csv"]
)
@POSIX_ONLY
def test_parser_process_stores_what_one_process_stores(
    session: Session, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    from pilots.rpa import ingest, logfile, normalise

    import_catalog(session, DATA / "catalog.csv")
    savepoint = session.begin_nested()
    alone = ingest_file(session, DATA / name)
    expected = _stored(session), [(r.line, r.reason, r.raw) for r in list_rejects(session)]
    savepoint.rollback()
    session.expire_all()
    monkeypatch.setattr(logfile, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(normalise, "BATCH_ROWS", 2)  # several batches through the pipe
    children: list[object] = []
    in_child = logfile.in_child

    def counted(parser: normalise.Parser) -> object:
        children.append(parser)
        return in_child(parser)

    monkeypatch.setattr(ingest, "in_child", counted)
    # Earlier tests in this process may leave a harmless daemon thread (tqdm's monitor, from
    # the speech model); `pilots rpa ingest` runs in a process of its own, where none exists.
    monkeypatch.setattr(logfile.threading, "active_count", lambda: 1)
    parallel = ingest_file(session, DATA / name)
    assert children, "the file was not parsed in a second process"
    assert parallel == alone
    assert (_stored(session), [(r.line, r.reason, r.raw) for r in list_rejects(session)]) == (
        expected
    )


@POSIX_ONLY
def test_parser_process_errors_reach_the_caller(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    from pilots.rpa import ingest, logfile, normalise

    path = _wmc_file(tmp_path / "w.csv", 50)
    monkeypatch.setattr(logfile, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(normalise, "BATCH_ROWS", 5)

    def broken(self: object, line: int, cells: list[str]) -> tuple[object, ...]:
        raise OSError("disk gone")

    with monkeypatch.context() as m:  # the parser process fails: its error is raised here
        m.setattr(normalise.Normaliser, "__call__", broken)
        with pytest.raises(OSError, match="disk gone"):
            ingest_file(session, path)
    assert not multiprocessing.active_children()

    def full(self: object, rows: list[tuple[object, ...]]) -> None:
        raise RuntimeError("database full")

    with monkeypatch.context() as m:  # storing fails: the parser process is stopped
        m.setattr(ingest._BulkStatement, "write", full)
        with pytest.raises(RuntimeError, match="database full"):
            ingest_file(session, path)
    assert not multiprocessing.active_children()
