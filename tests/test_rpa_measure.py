"""RPA hours reduced (SPEC §4) against figures computed by hand from the test logs.

The catalog (tests/data/rpa/catalog.csv), in minutes:

    task  manual/case  cases/run  residual/run  exception/failure
    T01   6            20         10            30
    T02   3            50         15            20
    T03   4            10         5             0 (blank)

The runs of FY2019 (wmc_tasks.csv: w1…w12, generic_runs.csv: g1…g6):

    w1  T01 success 2019-05-13          cases 20 (catalog)
    w2  T02 failure 2019-05-13          cases 50
    w3  T02 success 2019-05-13          cases 50
    w4  T03 failure (HALT) 2019-05-13   cases 10
    w5  T01 other (CANCEL) 2019-06-03   not counted
    w6  unmatched failure 2019-06-03    売上日報作成
    w7  unmatched other (WAITING), created 2019-06-04
    w8  T01 success 2019-10-01          cases 20   (final only)
    w9  T02 success 2020-03-31 23:50    cases 50   (final only)
    w10 T03 success 2020-04-01          FY2020: outside
    w11, w12, g4, g5                    rejected (2019/02/30, no scenario ×2… end before start)
    g1  T01 success 2019-07-01          cases 35 (from the log)
    g2  T03 failure 2019-07-02          cases 8 (from the log)
    g3  T02 success 2019-07-03          cases absent → 50
    g6  T01 success 2019-07-08          cases 12, name with a full-width space
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from pilots.calendar import period
from pilots.errors import CalendarError
from pilots.rpa.catalog import import_catalog
from pilots.rpa.ingest import ingest_file
from pilots.rpa.measure import RpaSummary, summarize
from tests.conftest import Pilots

DATA = Path(__file__).parent / "data" / "rpa"


def near(value: float) -> object:
    """Figures are rounded to 6 decimals: compare to the hand-computed value within that."""
    return pytest.approx(value, abs=1e-6)


@pytest.fixture
def loaded(session: Session) -> Session:
    import_catalog(session, DATA / "catalog.csv")
    ingest_file(session, DATA / "wmc_tasks.csv")
    ingest_file(session, DATA / "generic_runs.csv")
    return session


def _task(summary: RpaSummary, task_id: str) -> dict[str, object]:
    from dataclasses import asdict

    return next(asdict(t) for t in summary.tasks if t.task_id == task_id)


def test_final_period_by_hand(loaded: Session) -> None:
    s = summarize(loaded, period(2019, "final"), target_rate=0.80)
    # T01: successes w1 (20), w8 (20), g1 (35), g6 (12) → 87 cases
    #   manual 87 × 6 = 522 min = 8.7 h; residual 4 × 10 = 40 min
    t01 = _task(s, "T01")
    assert (t01["runs"], t01["runs_success"], t01["other_runs"], t01["cases"]) == (4, 4, 1, 87)
    assert t01["baseline_hours"] == near(522 / 60)
    assert t01["residual_hours"] == near(40 / 60)
    assert t01["reduced_hours"] == near(482 / 60)
    assert t01["reduction_rate"] == near(482 / 522)
    # T02: success w3, w9, g3 and failure w2, 50 cases each → 200 cases, manual 600 min
    #   residual: successes 3 × 15 = 45; failure 15 + 20 + 50 × 3 (redone by hand) = 185
    t02 = _task(s, "T02")
    assert (t02["runs_success"], t02["runs_failure"], t02["cases"]) == (3, 1, 200)
    assert t02["baseline_hours"] == near(600 / 60)
    assert t02["residual_hours"] == near(230 / 60)
    assert t02["reduction_rate"] == near(370 / 600)
    # T03: failures w4 (10 cases) and g2 (8 cases) → 18 cases, manual 72 min
    #   residual: w4 5 + 0 + 40 = 45, g2 5 + 0 + 32 = 37 → 82 min: more than by hand
    t03 = _task(s, "T03")
    assert (t03["runs_failure"], t03["cases"]) == (2, 18)
    assert t03["baseline_hours"] == near(72 / 60)
    assert t03["residual_hours"] == near(82 / 60)
    assert t03["reduced_hours"] == near(-10 / 60)
    assert t03["reduction_rate"] == near(-10 / 72)
    # Pooled: manual 522 + 600 + 72 = 1194 min, residual 40 + 230 + 82 = 352 min
    assert s.baseline_hours == near(1194 / 60)
    assert s.residual_hours == near(352 / 60)
    assert s.reduced_hours == near(842 / 60)
    assert s.reduction_rate == near(842 / 1194)
    # The simple mean of the three task rates is another figure, shown beside it.
    assert s.mean_task_rate == near((482 / 522 + 370 / 600 - 10 / 72) / 3)
    assert s.tasks_with_rate == 3
    assert (s.target_rate, s.met) == (0.80, False)
    assert (s.runs_success, s.runs_failure, s.other_runs) == (7, 3, 1)
    assert s.unmatched_runs == 2  # w6 and w7
    assert [(u.scenario, u.runs) for u in s.unmatched_scenarios] == [("売上日報作成", 2)]
    assert s.rejected_rows == 4
    assert s.other_by_status == {"CANCEL": 1}
    assert {e.what: e.count for e in s.excluded} == {
        "other_runs": 1,
        "unmatched_runs": 2,
        "rejected_rows": 4,
        "undated_runs": 0,
    }
    assert (s.months, s.start, s.as_of) == (12, date(2019, 4, 1), date(2020, 3, 31))
    departments = {d.department: d for d in s.by_department}
    assert departments["会計課"].reduced_hours == near(482 / 60)


def test_by_month(loaded: Session) -> None:
    s = summarize(loaded, period(2019, "final"), target_rate=0.80)
    months = {m.month: m for m in s.by_month}
    assert list(months) == [f"2019-{m:02d}" for m in range(4, 13)] + [
        f"2020-{m:02d}" for m in range(1, 4)
    ]
    # May: w1 (120 / 10), w2 (150 / 185), w3 (150 / 15), w4 (40 / 45) → 460 / 255 min
    may = months["2019-05"]
    assert (may.runs_success, may.runs_failure) == (2, 2)
    assert may.baseline_hours == near(460 / 60)
    assert may.residual_hours == near(255 / 60)
    # June: only the cancelled w5 and the unmatched w6, w7
    june = months["2019-06"]
    assert (june.other_runs, june.unmatched_runs, june.baseline_hours) == (1, 2, 0)
    assert june.reduction_rate is None
    # July: g1 210/10, g6 72/10, g3 150/15, g2 32/37 → 464 / 72 min
    july = months["2019-07"]
    assert july.baseline_hours == near(464 / 60)
    assert july.residual_hours == near(72 / 60)
    assert months["2019-10"].baseline_hours == near(120 / 60)
    assert months["2020-03"].baseline_hours == near(150 / 60)  # 23:50 on March 31
    assert sum(m.baseline_hours for m in s.by_month) == near(s.baseline_hours)


def test_interim_period_and_as_of(loaded: Session) -> None:
    interim = summarize(loaded, period(2019, "interim"), target_rate=0.80)
    # Without w8 (October) and w9 (March): manual 402 + 450 + 72 = 924, residual 30 + 215 + 82
    assert interim.baseline_hours == near(924 / 60)
    assert interim.residual_hours == near(327 / 60)
    assert interim.reduction_rate == near(597 / 924)
    assert (interim.months, len(interim.by_month)) == (6, 6)
    assert interim.period_label == "令和元年度 中間（令和元年9月末時点）"
    june = summarize(loaded, period(2019, "interim", date(2019, 6, 30)), target_rate=0.80)
    # April–June: w1, w2, w3, w4 → 460 / 255 min
    assert june.reduction_rate == near(205 / 460)
    assert (june.months, june.runs_success, june.runs_failure) == (3, 2, 2)
    with pytest.raises(CalendarError):
        summarize(loaded, period(2019, "final", date(2020, 4, 1)), target_rate=0.80)


def test_target_and_met(loaded: Session) -> None:
    assert summarize(loaded, period(2019, "final"), target_rate=0.70).met is True  # 0.7052 ≥ 0.70
    assert summarize(loaded, period(2019, "final"), target_rate=0.71).met is False


def test_catalog_after_logs_matches_runs_already_stored(session: Session) -> None:
    ingest_file(session, DATA / "wmc_tasks.csv")
    before = summarize(session, period(2019, "final"), target_rate=0.80)
    assert (before.baseline_hours, before.unmatched_runs, before.met) == (0, 9, None)
    assert before.reduction_rate is None and before.mean_task_rate is None
    import_catalog(session, DATA / "catalog.csv")
    after = summarize(session, period(2019, "final"), target_rate=0.80)
    assert (after.runs_success, after.runs_failure, after.unmatched_runs) == (4, 2, 2)


def test_undated_waiting_run_is_listed(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "scenario,started_at,ended_at,status\nA,,,waiting\nB,,,success\n", encoding="utf-8"
    )
    result = ingest_file(session, path)
    assert (result.runs_added, result.rejected) == (1, 1)  # a success needs a date
    assert summarize(session, period(2019, "final"), target_rate=0.80).undated_runs == 1


def test_summary_cli(pilots: Pilots) -> None:
    pilots("rpa", "catalog", str(DATA / "catalog.csv"))
    pilots("rpa", "ingest", str(DATA / "wmc_tasks.csv"), str(DATA / "generic_runs.csv"))
    data = json.loads(
        pilots("rpa", "summary", "--fy", "2019", "--period", "final", "--json").output
    )
    for key in (
        "baseline_hours",
        "residual_hours",
        "reduced_hours",
        "reduction_rate",
        "mean_task_rate",
        "target_rate",
        "met",
        "runs_success",
        "runs_failure",
        "other_runs",
        "unmatched_runs",
        "by_month",
        "tasks",
    ):
        assert key in data, key
    for key in (
        "task_id",
        "task_name",
        "department",
        "runs",
        "cases",
        "baseline_hours",
        "residual_hours",
        "reduced_hours",
        "reduction_rate",
    ):
        assert key in data["tasks"][0], key
    assert data["reduced_hours"] == near(842 / 60)
    text = pilots("rpa", "summary", "--fy", "2019", "--period", "final").output
    assert "削減時間: 14.0 時間（従来 19.9 時間 − RPA導入後 5.9 時間）" in text
    assert "削減率（全業務をまとめた率）: 70.5%  目標 80% → 未達" in text
    assert "参考: 業務別削減率の単純平均 46.7%（3業務）" in text
    met = pilots("rpa", "summary", "--fy", "2019", "--period", "final", "--target", "0.7").output
    assert "→ 達成" in met
    as_of = pilots(
        "rpa", "summary", "--fy", "2019", "--period", "interim", "--as-of", "R1.6.30", "--json"
    ).output
    assert json.loads(as_of)["as_of"] == "2019-06-30"
    bad = pilots("rpa", "summary", "--fy", "2019", "--period", "final", "--target", "80", ok=False)
    assert bad.exit_code == 1 and bad.stderr.startswith("エラー: --target:")
    bad = pilots(
        "rpa", "summary", "--fy", "2019", "--period", "final", "--as-of", "2021-01-01", ok=False
    )
    assert bad.exit_code == 1 and "外です" in bad.stderr
