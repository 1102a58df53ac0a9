"""Operational issues from the run logs (SPEC §4): failure groups, hours lost, the terminal check.

Each vendor's export is a small file written here, so that every figure can
be worked out by hand from the catalog below:

* 請求書登録 (A1): 20 cases a run by default, 6 minutes a case, 30 minutes of
  exception handling → a failed run loses (30 + 20 × 6) / 60 = 2.5 hours
  (with 8 cases in the log: (30 + 8 × 6) / 60 = 1.3 hours);
* 勤怠集計 (B1): 50 cases, 3 minutes, 20 minutes → (20 + 50 × 3) / 60 = 2.8333 hours.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from pilots.calendar import period
from pilots.rpa.catalog import import_catalog
from pilots.rpa.formats.wmc import HEADER as WMC_HEADER
from pilots.rpa.ingest import ingest_file
from pilots.rpa.issues import IssueGroup, binomial_tail, check_terminals, summarize_issues
from tests.conftest import Pilots

CATALOG = (
    "業務ID,業務名,所属,シナリオ名,手作業時間(分/件),件数(件/回),残作業時間(分/回),例外対応時間(分/回)\n"
    "A1,請求書登録,会計課,請求書登録;InvoiceRegistration,6,20,10,30\n"
    "B1,勤怠集計,人事課,勤怠集計;Attendance_Summary;勤怠集計フロー,3,50,15,20\n"
)
FY2019 = period(2019, "final")


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "業務台帳.csv"
    path.write_text(CATALOG, encoding="utf-8")
    return path


def _wmc(path: Path, rows: list[dict[str, str]]) -> Path:
    """A WinActor Manager task export (MS932) with the given cells filled in."""
    where = {name: i for i, name in enumerate(WMC_HEADER)}
    lines = [",".join(WMC_HEADER)]
    for n, values in enumerate(rows):
        cells = [""] * len(WMC_HEADER)
        cells[where["タスクID"]] = f"task{n:04d}"
        for name, value in values.items():
            cells[where[name]] = value
        lines.append(",".join(cells))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
    return path


def _groups(session: Session) -> list[IssueGroup]:
    return summarize_issues(session, FY2019, alpha=0.01, min_runs=30).groups


def _run(scenario: str, status: str, start: str, robot: str, **extra: str) -> dict[str, str]:
    end = start[:-2] + "59"
    return {
        "シナリオ名": scenario,
        "状態": status,
        "開始日時": start,
        "終了日時": end,
        "WinActor名": robot,
        **extra,
    }


def test_winactor_groups_by_scenario_error_and_terminal(
    session: Session, catalog: Path, tmp_path: Path
) -> None:
    import_catalog(session, catalog)
    window = {"エラーコード": "E0103", "エラー": "ウィンドウ「会計システム」が見つかりません"}
    ingest_file(
        session,
        _wmc(
            tmp_path / "tasks.csv",
            [
                _run("請求書登録", "ERROR", "2019/05/13 09:10:00", "robo-1", **window),  # Monday
                _run(
                    "請求書登録",
                    "ERROR",
                    "2019/05/20 09:40:00",  # Monday, the retry of a run that failed
                    "robo-1",
                    リトライカウント="1",
                    **window,
                ),
                _run("請求書登録", "HALT", "2019/05/14 13:00:00", "robo-2"),  # no error text
                _run("請求書登録", "FINISH", "2019/05/15 09:00:00", "robo-1"),
                _run(
                    "勤怠集計",
                    "ERROR",
                    "2019/06/03 10:00:00",
                    "robo-2",
                    エラーコード="E0201",
                    エラー="タイムアウトしました",
                ),
                _run("テスト用", "ERROR", "2019/06/03 10:00:00", "robo-2", エラーコード="E9"),
            ],
        ),
    )
    summary = summarize_issues(session, FY2019, alpha=0.01, min_runs=30)
    # Ranked by hours lost: 2 × 2.5 h, then 2.8333 h, then 2.5 h.
    assert [
        (g.task_id, g.error_code, g.terminal, g.runs, g.hours_lost) for g in summary.groups
    ] == [
        ("A1", "E0103", "robo-1", 2, 5.0),
        ("B1", "E0201", "robo-2", 1, 2.833333),
        ("A1", "", "robo-2", 1, 2.5),
    ]
    window_group = summary.groups[0]
    assert window_group.error == "ウィンドウ「会計システム」が見つかりません"
    assert (window_group.retries, window_group.statuses, window_group.cases) == (
        1,
        {"ERROR": 2},
        40,
    )
    assert str(window_group.first_seen) == "2019-05-13 09:10:00"
    assert str(window_group.last_seen) == "2019-05-20 09:40:00"
    assert window_group.hours[9] == 2 and window_group.weekdays[0] == 2  # 9時台, Mondays
    assert window_group.cluster == "9時台 2/2回、月曜 2/2回"
    assert summary.groups[2].statuses == {"HALT": 1}
    assert (summary.failures, summary.hours_lost) == (4, pytest.approx(10.333333))
    # The scenario no task claims has no hours lost: left out, and said so.
    assert [(e.what, e.count) for e in summary.excluded] == [("unmatched_runs", 1)]


def test_uipath_groups_by_info_and_host(session: Session, catalog: Path, tmp_path: Path) -> None:
    import_catalog(session, catalog)
    path = tmp_path / "jobs.csv"
    path.write_text(
        "Key,ReleaseName,State,StartTime,EndTime,HostMachineName,Info\n"
        # 00:00Z is 9:00 in Japan (Monday July 1), 01:00Z 10:00 (Tuesday)
        "k1,InvoiceRegistration,Faulted,2019-07-01T00:00:00Z,2019-07-01T00:01:00Z,"
        "VM01,Selector not found\n"
        "k2,InvoiceRegistration,Faulted,2019-07-02T01:00:00Z,2019-07-02T01:01:00Z,"
        "VM01,Selector not found\n"
        "k3,Attendance_Summary,Faulted,2019-07-02T01:00:00Z,2019-07-02T01:01:00Z,VM02,Timeout\n"
        "k4,InvoiceRegistration,Successful,2019-07-03T01:00:00Z,2019-07-03T01:01:00Z,"
        "VM01,Job completed\n",
        encoding="utf-8",
    )
    ingest_file(session, path)
    groups = _groups(session)
    assert [
        (g.task_id, g.error_code, g.error, g.terminal, g.runs, g.hours_lost) for g in groups
    ] == [
        ("A1", None, "Selector not found", "VM01", 2, 5.0),  # a job has no error code
        ("B1", None, "Timeout", "VM02", 1, 2.833333),
    ]
    assert groups[0].retries is None  # nor a retry count
    assert groups[0].hours[9] == 1 and groups[0].hours[10] == 1  # in Japan time
    assert groups[0].weekdays[:2] == [1, 1]


def test_power_automate_groups_by_error_code(
    session: Session, catalog: Path, tmp_path: Path
) -> None:
    import_catalog(session, catalog)
    machine = "_machineid_value@OData.Community.Display.V1.FormattedValue"
    path = tmp_path / "flowsession.csv"
    path.write_text(
        f"flowsessionid,name,statuscode,startedon,completedon,errorcode,errormessage,{machine}\n"
        "s1,勤怠集計フロー,8,2019-08-01T01:00:00Z,2019-08-01T01:05:00Z,"
        "WindowNotFound,Window not found,PAD-01\n"
        "s2,勤怠集計フロー,10,2019-08-02T01:00:00Z,2019-08-02T03:00:00Z,"
        "TimeoutExpired,Timed out,PAD-01\n"
        "s3,勤怠集計フロー,8,2019-08-05T01:00:00Z,2019-08-05T01:05:00Z,"
        "WindowNotFound,Window not found,PAD-01\n"
        "s4,勤怠集計フロー,4,2019-08-06T01:00:00Z,2019-08-06T01:05:00Z,,,PAD-01\n",
        encoding="utf-8",
    )
    ingest_file(session, path)
    groups = _groups(session)
    assert [(g.error_code, g.error, g.terminal, g.runs, g.hours_lost) for g in groups] == [
        ("WindowNotFound", "Window not found", "PAD-01", 2, 5.666667),
        ("TimeoutExpired", "Timed out", "PAD-01", 1, 2.833333),
    ]
    assert groups[1].statuses == {"10": 1}  # TimedOut, as the table stores it


def test_generic_log_uses_its_item_counts_and_retries(
    session: Session, catalog: Path, tmp_path: Path
) -> None:
    import_catalog(session, catalog)
    path = tmp_path / "runs.csv"
    path.write_text(
        "scenario,started_at,ended_at,status,cases,robot,error_code,message,retries\n"
        "請求書登録,2019-09-02 09:00:00,2019-09-02 09:10:00,failure,8,G1,X1,帳票が開けない,2\n"
        "請求書登録,2019-09-03 09:00:00,2019-09-03 09:10:00,failure,,G1,X1,帳票が開けない,0\n"
        "請求書登録,2019-09-04 09:00:00,2019-09-04 09:10:00,success,20,G1,,,\n",
        encoding="utf-8",
    )
    ingest_file(session, path)
    (group,) = _groups(session)
    # 8 cases from the log, 20 from the catalog: (30 + 8 × 6) / 60 + (30 + 20 × 6) / 60
    assert (group.runs, group.cases, group.hours_lost, group.retries) == (2, 28, 3.8, 2)
    bare = tmp_path / "bare.csv"
    bare.write_text(
        "scenario,started_at,ended_at,status\n"
        "勤怠集計,2019-09-05 09:00:00,2019-09-05 09:10:00,failure\n",
        encoding="utf-8",
    )
    ingest_file(session, bare)
    plain = [g for g in _groups(session) if g.task_id == "B1"]
    # A log without those columns: no code, message or terminal (None, not '').
    assert [(g.error_code, g.error, g.terminal, g.retries) for g in plain] == [
        (None, None, None, None)
    ]


def test_the_period_decides_which_failures_count(
    session: Session, catalog: Path, tmp_path: Path
) -> None:
    import_catalog(session, catalog)
    ingest_file(
        session,
        _wmc(
            tmp_path / "tasks.csv",
            [
                _run("請求書登録", "ERROR", "2019/09/30 23:59:00", "robo-1", エラーコード="E1"),
                _run("請求書登録", "ERROR", "2019/10/01 00:00:00", "robo-1", エラーコード="E1"),
            ],
        ),
    )
    interim = summarize_issues(session, period(2019, "interim"), alpha=0.01, min_runs=30)
    assert [g.runs for g in interim.groups] == [1]
    assert [g.runs for g in _groups(session)] == [2]


def test_a_terminal_far_above_the_others_is_flagged(
    session: Session, catalog: Path, tmp_path: Path
) -> None:
    """Four terminals of 100 runs: three fail twice, one 15 times; a fifth has only 10 runs."""
    import_catalog(session, catalog)
    lines = ["scenario,started_at,ended_at,status,robot"]
    counts = {"T-A": (100, 2), "T-B": (100, 2), "T-C": (100, 2), "T-D": (100, 15), "T-E": (10, 5)}
    for robot, (runs, failures) in counts.items():
        for n in range(runs):
            day = f"2019-{7 + n // 28:02d}-{1 + n % 28:02d}"
            status = "failure" if n < failures else "success"
            lines.append(f"請求書登録,{day} 09:00:00,{day} 09:10:00,{status},{robot}")
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest_file(session, path)
    summary = summarize_issues(session, FY2019, alpha=0.01, min_runs=30)
    by_name = {t.terminal: t for t in summary.terminals}
    assert [t.terminal for t in summary.terminals if t.flagged] == ["T-D"]
    worst = by_name["T-D"]
    # Against the pooled rate of the others: (2 + 2 + 2 + 5) / 310.
    assert worst.others_rate == pytest.approx(11 / 310, abs=1e-6)
    assert worst.p_value == pytest.approx(binomial_tail(15, 100, 11 / 310))
    assert worst.p_value is not None and worst.p_value < 0.01 / 4  # four terminals tested
    # Too few runs to say anything: not tested, whatever its rate.
    assert (by_name["T-E"].failure_rate, by_name["T-E"].p_value) == (0.5, None)
    assert not by_name["T-E"].flagged
    assert summary.terminals[0].terminal == "T-D"  # the flagged first


def test_the_level_is_divided_by_the_terminals_tested() -> None:
    # 6 failures in 100 runs against the other terminal's 2%: p ≈ 0.0155.
    counts = {"X": [100, 6], "Y": [1000, 20]}
    assert binomial_tail(6, 100, 0.02) == pytest.approx(0.015484, abs=1e-6)
    # Two terminals tested: at α = 0.02 the level is 0.01 (not flagged), at 0.04 it is 0.02.
    assert not any(t.flagged for t in check_terminals(counts, alpha=0.02, min_runs=30))
    flagged = check_terminals(counts, alpha=0.04, min_runs=30)
    assert [t.terminal for t in flagged if t.flagged] == ["X"]
    # Only one terminal: nothing to compare it with.
    (alone,) = check_terminals({"X": [100, 90]}, alpha=0.05, min_runs=30)
    assert (alone.others_rate, alone.p_value, alone.flagged) == (None, None, False)


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [
        (0, 10, 0.3),
        (3, 10, 0.3),
        (7, 10, 0.3),
        (10, 10, 0.3),
        (40, 200, 0.1),
        (5, 200, 0.1),
        (1, 5, 0.0),
        (6, 5, 0.5),
    ],
)
def test_binomial_tail_is_exact(k: int, n: int, p: float) -> None:
    expected = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
    assert binomial_tail(k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_issues_cli_json_keys_and_order(pilots: Pilots, catalog: Path, tmp_path: Path) -> None:
    pilots("rpa", "catalog", str(catalog))
    pilots(
        "rpa",
        "ingest",
        str(
            _wmc(
                tmp_path / "tasks.csv",
                [
                    _run("請求書登録", "ERROR", "2019/05/13 09:10:00", "robo-1", エラーコード="E1"),
                    _run("勤怠集計", "ERROR", "2019/05/13 09:10:00", "robo-1", エラーコード="E2"),
                    _run("勤怠集計", "FINISH", "2019/05/14 09:10:00", "robo-2"),
                ],
            )
        ),
    )
    data = json.loads(pilots("rpa", "issues", "--fy", "2019", "--json").output)
    group_keys = {"task_id", "scenario", "error_code", "error", "terminal", "runs", "hours_lost"}
    group_keys |= {"retries", "first_seen", "last_seen"}
    assert group_keys <= set(data["groups"][0])
    assert {"terminal", "runs", "failures", "failure_rate", "flagged"} <= set(data["terminals"][0])
    lost = [g["hours_lost"] for g in data["groups"]]
    assert lost == sorted(lost, reverse=True) == [2.833333, 2.5]
    assert data["period"] == "final" and data["as_of"] == "2020-03-31"
    # Without --fy: the latest year with runs (as the RPA page opens).
    assert json.loads(pilots("rpa", "issues", "--json").output)["fiscal_year"] == 2019
    text = pilots("rpa", "issues", "--fy", "2019").output
    assert "失敗 2回（2組）" in text and "robo-1" in text and "E2" in text
    bad = pilots("rpa", "issues", "--fy", "2019", "--as-of", "2021-01-01", ok=False)
    assert bad.exit_code == 1 and bad.stderr.startswith("エラー: --as-of:")
