"""Measuring the speech-recognition pilot: baselines, corrections, usage imports, the summary.

The figures are checked against values computed by hand (SPEC §3), with the
arithmetic beside each. The scenario (FY2019 = 令和元年度):

* baseline rates: 総務課 5.0, 人事課 3.0 (tests/data/asr_baseline.csv); every
  other department uses the default 4.0 (PILOTS_DEFAULT_BASELINE_RATE).
* tests/data/asr_usage.csv, reported by departments (source = import):

  ====  =============  ==========  =====  ====  ===================================
  line  department     date        audio  corr  saved (hours)
  ====  =============  ==========  =====  ====  ===================================
  2     総務課         2019-04-10  60     30    1.0 × 5 − 0.5 = 4.5
  3     総務課         2019-05-20  120    90    2.0 × 5 − 1.5 = 8.5
  4     人事課         2019-06-03  90     —     not reported: usage only
  5     人事課         2019-09-30  30     20    0.5 × 3 − 20/60 = 1.166667
  6     財政課         2019-10-01  60     60    1.0 × 4 − 1.0 = 3.0 (default rate)
  7     ＲＰＡ推進課   2020-03-31  45     15    0.75 × 4 − 0.25 = 2.75 (new, default)
  8     総務課         2020-04-01  60     10    FY2020: outside every FY2019 period
  9-11  rejected: a bad date, audio "abc", an empty department
  ====  =============  ==========  =====  ====  ===================================

* two jobs transcribed by pilots itself (source = pilots): 総務課 2019-07-01,
  30 min, no correction; and one without a department, 2019-08-15, 60 min,
  corrected in 30 min: 1.0 × 4 − 0.5 = 3.5 (default rate, under 所属不明).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pilots import db
from pilots.asr.baselines import import_baselines
from pilots.asr.corrections import CorrectionResult, finish_correction
from pilots.asr.jobs import list_jobs
from pilots.asr.measure import summarize
from pilots.asr.usage import import_usage
from pilots.calendar import period
from pilots.errors import ConfigError, InputFileError, NotFoundError, TruncatedRowError
from pilots.tables import AsrBaseline, AsrImportReject, AsrJob, Base, Department
from pilots.text import normalize_name
from tests.conftest import DATA, Pilots

DEFAULT = 4.0
RATIO = 10.0  # asr.max_correction_ratio
USAGE = DATA / "asr_usage.csv"
BASELINE = DATA / "asr_baseline.csv"
APPROX = 1e-6


def _usage_rows() -> list[list[str]]:
    text = USAGE.read_text(encoding="utf-8")
    return [line.split(",") for line in text.splitlines()]


def _write_usage(tmp_path: Path, fmt: str) -> Path:
    """The usage report in one of the formats departments send."""
    if fmt == "xlsx":
        book = openpyxl.Workbook()
        ws = book.active
        for number, cells in enumerate(_usage_rows()):
            if number in (1, 4):  # real date cells and numbers, as Excel keeps them
                dept, day, audio, corr = cells
                ws.append(
                    [dept, datetime.fromisoformat(day.replace("/", "-")), int(audio), int(corr)]
                )
            else:
                ws.append([c if c != "" else None for c in cells])
        path = tmp_path / "usage.xlsx"
        book.save(path)
        return path
    path = tmp_path / f"usage-{fmt}.csv"
    path.write_bytes(USAGE.read_text(encoding="utf-8").replace("\n", "\r\n").encode(fmt))
    return path


def _add_pilots_jobs(session: Session) -> None:
    soumu = session.scalar(select(Department).where(Department.name_key == "総務課"))
    assert soumu is not None
    session.add_all(
        [
            AsrJob(
                source="pilots",
                department_id=soumu.id,
                title="課内会議",
                meeting_date=date(2019, 7, 1),
                audio_seconds=1800,
                audio_sha256="a" * 64,
            ),
            AsrJob(
                source="pilots",
                department_id=None,
                title="所属の記入がない会議",
                meeting_date=date(2019, 8, 15),
                audio_seconds=3600,
                audio_sha256="b" * 64,
                correction_minutes=30,
            ),
        ]
    )
    session.flush()


@pytest.fixture
def scenario(session: Session, tmp_path: Path) -> Session:
    import_baselines(session, BASELINE)
    import_usage(session, USAGE, max_correction_ratio=RATIO)
    _add_pilots_jobs(session)
    return session


# --- baselines -------------------------------------------------------------------------


def test_baseline_import_csv_and_japanese_headers(session: Session) -> None:
    result = import_baselines(session, BASELINE)
    assert (result.rows, result.added, result.updated, result.unchanged) == (2, 2, 0, 0)
    assert result.departments_created == ["総務課", "人事課"]
    rates = {
        b.department.name: b.hours_per_audio_hour for b in session.scalars(select(AsrBaseline))
    }
    assert rates == {"総務課": 5.0, "人事課": 3.0}
    again = import_baselines(session, BASELINE)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)


def test_baseline_xlsx_with_english_headers_updates_a_rate(
    session: Session, tmp_path: Path
) -> None:
    import_baselines(session, BASELINE)
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["department", "baseline_hours_per_audio_hour"])
    ws.append(["総務課", 4.5])
    ws.append(["財政課", 3])
    path = tmp_path / "baseline.xlsx"
    book.save(path)
    result = import_baselines(session, path)
    assert (result.added, result.updated, result.unchanged) == (1, 1, 0)
    rates = {
        b.department.name: b.hours_per_audio_hour for b in session.scalars(select(AsrBaseline))
    }
    assert rates == {"総務課": 4.5, "人事課": 3.0, "財政課": 3.0}  # 人事課 not named: kept


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("人事課,abc\n", "3行目（列「従来作業時間(時間/録音1時間)」）: 従来作業時間"),
        ("人事課,0\n", "3行目（列「従来作業時間(時間/録音1時間)」）: 0より大きい値"),
        (",4\n", "3行目（列「所属」）: 所属が空です"),
        ("総務課 ,4\n", "3行目: 所属 総務課 が2行目と重複しています"),
    ],
)
def test_bad_baseline_refuses_the_file(
    session: Session, tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "baseline.csv"
    path.write_text("所属,従来作業時間(時間/録音1時間)\n総務課,5\n" + body, encoding="utf-8")
    with pytest.raises(InputFileError, match=re.escape(message)):
        import_baselines(session, path)


# --- usage import ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["utf-8", "utf-8-sig", "cp932", "xlsx"])
def test_usage_import_in_each_format(session: Session, tmp_path: Path, fmt: str) -> None:
    path = _write_usage(tmp_path, fmt)
    result = import_usage(session, path, max_correction_ratio=RATIO)
    # 10 data rows: 7 loaded, 3 rejected with line and reason.
    assert (result.rows, result.added, result.updated, result.unchanged) == (10, 7, 0, 0)
    assert result.encoding == (
        None if fmt == "xlsx" else "cp932" if fmt == "cp932" else "utf-8-sig"
    )
    assert [(r.line, r.reason) for r in result.rejected] == [
        (9, "会議日: 日付として正しくありません: 2019/13/01"),
        (10, "録音時間(分)が数値ではありません: abc"),
        (11, "所属が空です"),
    ]
    assert result.rejected[1].values == ["人事課", "2019/07/01", "abc", "10"]
    # Named as the file wrote them (NFKC compared): ＲＰＡ推進課 is RPA推進課.
    assert sorted(normalize_name(n) for n in result.departments_created) == sorted(
        ["総務課", "人事課", "財政課", "RPA推進課"]
    )
    jobs = session.scalars(select(AsrJob).order_by(AsrJob.import_line)).all()
    assert [(j.meeting_date, j.audio_seconds, j.correction_minutes) for j in jobs[:4]] == [
        (date(2019, 4, 10), 3600, 30),
        (date(2019, 5, 20), 7200, 90),  # R1.5.20
        (date(2019, 6, 3), 5400, None),  # 令和元年6月3日, correction blank = not reported
        (date(2019, 9, 30), 1800, 20),
    ]
    assert {j.source for j in jobs} == {"import"}
    stored = session.scalars(select(AsrImportReject).order_by(AsrImportReject.line)).all()
    assert [(r.line, json.loads(r.raw)[2]) for r in stored] == [
        (9, "60"),
        (10, "abc"),
        (11, "60"),
    ]


def test_reimporting_the_same_file_adds_nothing(session: Session) -> None:
    import_usage(session, USAGE, max_correction_ratio=RATIO)
    again = import_usage(session, USAGE, max_correction_ratio=RATIO)
    assert (again.added, again.updated, again.unchanged, len(again.rejected)) == (0, 0, 7, 3)
    assert session.scalar(select(func.count()).select_from(AsrJob)) == 7
    # Rejects are replaced, not piled up.
    assert session.scalar(select(func.count()).select_from(AsrImportReject)) == 3


def test_reimport_with_correction_filled_updates_the_job(session: Session, tmp_path: Path) -> None:
    import_usage(session, USAGE, max_correction_ratio=RATIO)
    later = tmp_path / "usage-june.csv"
    # The same meetings reported again (another file, other order): 人事課's June meeting
    # now has its correction time; 総務課's April one is blank this time.
    later.write_text(
        "所属,会議日,録音時間(分),修正時間(分)\n"
        "人事課,2019-06-03,90,45\n"
        "総務課,2019-04-10,60,\n"
        "総務課,2019-04-10,60,25\n",  # a second meeting that day of the same length: new
        encoding="utf-8",
    )
    result = import_usage(session, later, max_correction_ratio=RATIO)
    assert (result.added, result.updated, result.unchanged) == (1, 1, 1)
    june = session.scalar(select(AsrJob).where(AsrJob.meeting_date == date(2019, 6, 3)))
    assert june is not None and june.correction_minutes == 45
    april = session.scalars(
        select(AsrJob).where(AsrJob.meeting_date == date(2019, 4, 10)).order_by(AsrJob.id)
    ).all()
    # A blank correction never erases the one reported before.
    assert [j.correction_minutes for j in april] == [30, 25]


def test_identical_rows_in_one_file_are_two_meetings(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text(
        "所属,会議日,録音時間(分),修正時間(分)\n総務課,2019/5/1,60,\n総務課,2019/5/1,60,\n",
        encoding="utf-8",
    )
    assert import_usage(session, path, max_correction_ratio=RATIO).added == 2
    assert import_usage(session, path, max_correction_ratio=RATIO).added == 0


def test_identical_bad_rows_are_each_listed(session: Session, tmp_path: Path) -> None:
    """Every rejected row is listed with its file and line, alike or not (as SPEC §4 asks)."""
    bad = "総務課,2019/02/30,60,\n"
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (first, second):
        path.write_text("所属,会議日,録音時間(分),修正時間(分)\n" + bad + bad, encoding="utf-8")
        import_usage(session, path, max_correction_ratio=RATIO)
    # again: replaces its rejects, adds none
    import_usage(session, first, max_correction_ratio=RATIO)
    s = summarize(session, period(2019, "final"), default_rate=DEFAULT)
    assert [(Path(r.file).name, r.line) for r in s.rejected_rows] == [
        ("a.csv", 2),
        ("a.csv", 3),
        ("b.csv", 2),
        ("b.csv", 3),
    ]


def test_usage_file_without_a_required_column_is_refused(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("所属,会議日\n総務課,2019/5/1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="audio_minutes / 録音時間"):
        import_usage(session, path, max_correction_ratio=RATIO)
    assert session.scalar(select(func.count()).select_from(AsrJob)) == 0


# --- corrections and the job list --------------------------------------------------------


def _report(
    session: Session, job_id: int, minutes: float, *, default_rate: float, max_ratio: float
) -> CorrectionResult:
    """A correction time typed by the clerk (``pilots asr correction JOB MINUTES``)."""
    return finish_correction(
        session,
        job_id,
        corrected_text=None,
        minutes=minutes,
        source="self-reported",
        default_rate=default_rate,
        max_ratio=max_ratio,
    )


def test_correction_is_recorded_and_replaced(scenario: Session) -> None:
    june = scenario.scalar(select(AsrJob).where(AsrJob.meeting_date == date(2019, 6, 3)))
    assert june is not None
    first = _report(scenario, june.id, 45, default_rate=DEFAULT, max_ratio=RATIO)
    assert first.previous_minutes is None
    # 1.5 h × 3.0 − 0.75 h = 3.75
    assert first.job.hours_saved == pytest.approx(3.75)
    assert first.job.rate_source == "own"
    second = _report(scenario, june.id, 60, default_rate=DEFAULT, max_ratio=RATIO)
    assert second.previous_minutes == 45
    assert second.job.hours_saved == pytest.approx(3.5)  # 4.5 − 1.0
    assert june.finished_at is not None
    assert june.correction_source == "self-reported"


def test_correction_for_an_unknown_job_is_an_error(scenario: Session) -> None:
    with pytest.raises(NotFoundError, match="ジョブ #9999 はありません"):
        _report(scenario, 9999, 30, default_rate=DEFAULT, max_ratio=RATIO)
    with pytest.raises(ConfigError, match="修正時間: 0以上の分数にしてください: -5"):
        _report(scenario, 1, -5, default_rate=DEFAULT, max_ratio=RATIO)


def test_job_list_filters_by_fiscal_year_and_department(scenario: Session) -> None:
    everything = list_jobs(scenario, default_rate=DEFAULT)
    assert len(everything) == 9  # 7 imported + 2 transcribed
    fy2019 = list_jobs(scenario, default_rate=DEFAULT, fiscal_year=2019)
    assert len(fy2019) == 8  # 総務課 2020-04-01 is FY2020
    soumu = list_jobs(scenario, default_rate=DEFAULT, fiscal_year=2019, department="総務課 ")
    assert [(j.meeting_date.month, j.hours_saved) for j in soumu] == [
        (4, pytest.approx(4.5)),
        (5, pytest.approx(8.5)),
        (7, None),  # transcribed, correction not reported: no guessed saving
    ]
    zaisei = list_jobs(scenario, default_rate=DEFAULT, department="財政課")
    assert (zaisei[0].baseline_rate, zaisei[0].rate_source) == (4.0, "default")
    with pytest.raises(NotFoundError, match="所属「存在しない課」"):
        list_jobs(scenario, default_rate=DEFAULT, department="存在しない課")


# --- the summary -----------------------------------------------------------------------


def test_interim_summary(scenario: Session) -> None:
    s = summarize(scenario, period(2019, "interim"), default_rate=DEFAULT)
    assert (s.start, s.as_of, s.months) == (date(2019, 4, 1), date(2019, 9, 30), 6)
    # Jobs met Apr–Sep: 総務 4/10, 5/20, 7/1 (pilots); 人事 6/3, 9/30; 所属不明 8/15.
    assert s.jobs == 6
    assert (s.measured_jobs, s.unmeasured_jobs, s.jobs_without_department) == (4, 2, 1)
    assert s.departments_using == 2  # 総務課, 人事課 (所属不明 is not a department)
    # audio: 1 + 2 + 0.5 + 1.5 + 0.5 + 1 = 6.5 h
    assert s.audio_hours == pytest.approx(6.5)
    # saved: 4.5 + 8.5 + 1.166667 + 3.5 = 17.666667
    assert s.hours_saved == pytest.approx(4.5 + 8.5 + (1.5 - 20 / 60) + 3.5, abs=APPROX)
    assert s.avg_hours_saved_per_month == pytest.approx(17.666667 / 6, abs=APPROX)
    # baseline over measured: 5 + 10 + 1.5 + 4 = 20.5; corrections: 0.5 + 1.5 + 1/3 + 0.5
    assert s.baseline_hours == pytest.approx(20.5)
    assert s.correction_hours == pytest.approx(2.5 + 1 / 3, abs=APPROX)
    assert s.departments_on_default_rate == []
    assert [(u.department, u.meeting_date, u.audio_minutes) for u in s.unmeasured] == [
        ("人事課", date(2019, 6, 3), 90),
        ("総務課", date(2019, 7, 1), 30),
    ]
    assert s.period_label == "令和元年度 中間（令和元年9月末時点）"


def test_final_summary(scenario: Session) -> None:
    s = summarize(scenario, period(2019, "final"), default_rate=DEFAULT)
    assert s.months == 12
    assert s.jobs == 8  # + 財政課 10/1 and ＲＰＡ推進課 3/31
    assert (s.measured_jobs, s.unmeasured_jobs) == (6, 2)
    assert s.departments_using == 4
    assert s.audio_hours == pytest.approx(6.5 + 1 + 0.75)
    # 17.666667 + 3.0 + 2.75 = 23.416667; ÷ 12 = 1.951389
    assert s.hours_saved == pytest.approx(23.416667, abs=APPROX)
    assert s.avg_hours_saved_per_month == pytest.approx(23.416667 / 12, abs=APPROX)
    assert s.departments_on_default_rate == ["ＲＰＡ推進課", "財政課"]
    by_dept = {d.department: d for d in s.by_department}
    assert set(by_dept) == {"総務課", "人事課", "財政課", "ＲＰＡ推進課", "所属不明"}
    soumu = by_dept["総務課"]
    assert (soumu.jobs, soumu.measured_jobs, soumu.unmeasured_jobs) == (3, 2, 1)
    assert soumu.audio_hours == pytest.approx(3.5)  # 1 + 2 + 0.5
    assert (soumu.baseline_rate, soumu.rate_source) == (5.0, "own")
    assert soumu.hours_saved == pytest.approx(13.0)  # 4.5 + 8.5
    jinji = by_dept["人事課"]
    assert (jinji.jobs, jinji.measured_jobs, jinji.hours_saved) == (
        2,
        1,
        pytest.approx(1.166667, abs=APPROX),
    )
    unknown = by_dept["所属不明"]
    assert (unknown.department_id, unknown.rate_source, unknown.hours_saved) == (
        None,
        "default",
        pytest.approx(3.5),
    )
    assert s.by_department[-1].department == "所属不明"
    assert by_dept["財政課"].hours_saved == pytest.approx(3.0)
    assert by_dept["ＲＰＡ推進課"].hours_saved == pytest.approx(2.75)
    months = {m.month: m for m in s.by_month}
    assert list(months) == [f"2019-{m:02d}" for m in range(4, 13)] + [
        f"2020-{m:02d}" for m in range(1, 4)
    ]
    assert [(m.jobs, m.measured_jobs, m.hours_saved) for m in s.by_month[:6]] == [
        (1, 1, pytest.approx(4.5)),  # April
        (1, 1, pytest.approx(8.5)),  # May
        (1, 0, 0),  # June: 人事課, not reported
        (1, 0, 0),  # July: 総務課 transcribed, not reported
        (1, 1, pytest.approx(3.5)),  # August: 所属不明
        (1, 1, pytest.approx(1.166667, abs=APPROX)),  # September
    ]
    assert months["2019-08"].departments_using == 0
    cumulative = [m.departments_cumulative for m in s.by_month]
    assert cumulative == sorted(cumulative)  # the usage curve never falls
    assert cumulative[-1] == s.departments_using == 4
    assert months["2019-08"].departments_cumulative == cumulative[4 - 1]  # 所属不明 adds none
    assert months["2019-11"].jobs == 0
    assert months["2020-03"].hours_saved == pytest.approx(2.75)
    assert months["2019-05"].label == "令和元年5月"
    assert sum(m.hours_saved for m in s.by_month) == pytest.approx(s.hours_saved)
    assert [(r.line, r.reason.split(":")[0]) for r in s.rejected_rows] == [
        (9, "会議日"),
        (10, "録音時間(分)が数値ではありません"),
        (11, "所属が空です"),
    ]


def test_as_of_date_cuts_the_period(scenario: Session) -> None:
    s = summarize(scenario, period(2019, "interim", date(2019, 7, 15)), default_rate=DEFAULT)
    # Apr–Jul = 4 months; jobs 4/10, 5/20, 6/3, 7/1; measured 4/10 and 5/20: 4.5 + 8.5 = 13.0
    assert (s.months, s.jobs, s.measured_jobs, s.departments_using) == (4, 4, 2, 2)
    assert s.hours_saved == pytest.approx(13.0)
    assert s.avg_hours_saved_per_month == pytest.approx(3.25)
    assert len(s.by_month) == 4


def test_default_rate_is_the_setting_passed_in(scenario: Session) -> None:
    s = summarize(scenario, period(2019, "final"), default_rate=3.0)
    # Default-rate jobs lose 1 h per audio hour: 財政 1 h, RPA 0.75 h, 所属不明 1 h.
    assert s.hours_saved == pytest.approx(23.416667 - 2.75, abs=APPROX)


def test_empty_period(session: Session) -> None:
    s = summarize(session, period(2019, "interim"), default_rate=DEFAULT)
    assert (s.jobs, s.departments_using, s.hours_saved, s.avg_hours_saved_per_month) == (0, 0, 0, 0)
    assert len(s.by_month) == 6


def test_migration_matches_the_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    mine = ("asr_baselines", "asr_import_rejects", "surveys", "survey_responses")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if any(t in str(d) for t in mine)] == []


# --- the command line -------------------------------------------------------------------


SUMMARY_KEYS = {
    "fiscal_year",
    "period",
    "as_of",
    "departments_using",
    "jobs",
    "measured_jobs",
    "audio_hours",
    "hours_saved",
    "months",
    "avg_hours_saved_per_month",
    "by_department",
    "by_month",
}


def _add_pilots_jobs_committed(db_url: str) -> None:
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    with db.session_scope(db.session_factory(engine)) as session:
        _add_pilots_jobs(session)
    engine.dispose()


def test_evaluator_workflow_through_the_cli(pilots: Pilots, db_url: str, tmp_path: Path) -> None:
    out = pilots("asr", "baseline", str(BASELINE)).output
    assert "2所属（追加 2、更新 0、変更なし 0）" in out
    path = _write_usage(tmp_path, "cp932")
    out = pilots("asr", "import", str(path)).output
    assert "10行（追加 7、更新 0、変更なし 0、除外 3）" in out
    assert "録音時間(分)が数値ではありません: abc" in out
    again = json.loads(pilots("asr", "import", str(path), "--json").output)
    assert (again["added"], again["unchanged"]) == (0, 7)
    _add_pilots_jobs_committed(db_url)

    jobs = json.loads(pilots("asr", "jobs", "--fy", "2019", "--json").output)
    assert len(jobs) == 8
    june = next(j for j in jobs if j["meeting_date"] == "2019-06-03")
    assert june["correction_minutes"] is None and june["hours_saved"] is None
    listing = pilots("asr", "jobs", "--fy", "2019", "--dept", "人事課").output
    assert "未報告" in listing

    out = pilots("asr", "correction", str(june["job_id"]), "45").output
    # 1.5 h × 3 − 0.75 h = 3.75
    assert f"ジョブ #{june['job_id']}: 修正時間 45分（自己申告）、削減時間 3.75時間" in out

    result = json.loads(
        pilots("asr", "summary", "--fy", "2019", "--period", "final", "--json").output
    )
    assert set(result) >= SUMMARY_KEYS
    assert (result["fiscal_year"], result["period"], result["as_of"]) == (
        2019,
        "final",
        "2020-03-31",
    )
    assert (result["jobs"], result["measured_jobs"], result["departments_using"]) == (8, 7, 4)
    # 23.416667 + 3.75 (June now reported) = 27.166667
    assert result["hours_saved"] == pytest.approx(27.166667, abs=APPROX)
    assert result["avg_hours_saved_per_month"] == pytest.approx(27.166667 / 12, abs=APPROX)
    assert {d["department"] for d in result["by_department"]} >= {"所属不明", "財政課"}

    text = pilots("asr", "summary", "--fy", "2019", "--period", "interim").output
    assert "令和元年度 中間（令和元年9月末時点）" in text
    assert "利用所属数: 2所属" in text
    assert "修正時間が未報告のジョブ" in text

    cut = json.loads(
        pilots(
            "asr", "summary", "--fy", "2019", "--period", "interim", "--as-of", "R1.7.15", "--json"
        ).output
    )
    assert (cut["as_of"], cut["months"]) == ("2019-07-15", 4)


def test_cli_errors_are_one_line(pilots: Pilots) -> None:
    result = pilots("asr", "correction", "999", "30", ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("エラー: ジョブ #999 はありません")
    result = pilots(
        "asr", "summary", "--fy", "2019", "--period", "final", "--as-of", "2021-01-01", ok=False
    )
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("エラー: --as-of: 基準日 2021-01-01")
    result = pilots("asr", "jobs", "--dept", "ない課", ok=False)
    assert "所属「ない課」は登録されていません" in result.stderr


def test_default_rate_setting_reaches_the_summary(
    pilots: Pilots, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "one.csv"
    path.write_text(
        "所属,会議日,録音時間(分),修正時間(分)\n新課,2019/5/1,60,30\n", encoding="utf-8"
    )
    pilots("asr", "import", str(path))
    monkeypatch.setenv("PILOTS_DEFAULT_BASELINE_RATE", "3.5")
    result = json.loads(
        pilots("asr", "summary", "--fy", "2019", "--period", "final", "--json").output
    )
    # 1 h × 3.5 − 0.5 h = 3.0
    assert result["hours_saved"] == pytest.approx(3.0)
    assert result["default_baseline_rate"] == 3.5
    assert result["departments_on_default_rate"] == ["新課"]


# --- implausible correction times (issue 10) ---------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "said"),
    [
        (1e308, "1e+308分は録音の長さ（90分）の10倍（900分）を超えています"),
        (99999999, "99,999,999分は録音の長さ（90分）の10倍（900分）を超えています"),
        (3500, "3,500分は録音の長さ（90分）の10倍（900分）を超えています"),
        (float("inf"), "数値ではありません: inf"),
        (float("nan"), "数値ではありません: nan"),
        (-0.5, "0以上の分数にしてください: -0.5"),
    ],
)
def test_an_implausible_correction_time_is_refused_and_not_stored(
    scenario: Session, minutes: float, said: str
) -> None:
    june = scenario.scalar(select(AsrJob).where(AsrJob.meeting_date == date(2019, 6, 3)))
    assert june is not None and june.audio_seconds == 5400  # 90 minutes
    with pytest.raises(ConfigError, match=re.escape(f"修正時間: {said}")):
        _report(scenario, june.id, minutes, default_rate=DEFAULT, max_ratio=RATIO)
    assert june.correction_minutes is None
    # Ten times the recording is still taken (a hard meeting), and the ratio is a setting.
    ok = _report(scenario, june.id, 900, default_rate=DEFAULT, max_ratio=RATIO)
    assert ok.job.correction_minutes == 900
    with pytest.raises(ConfigError, match="（180分）を超えています"):
        _report(scenario, june.id, 200, default_rate=DEFAULT, max_ratio=2)


def test_the_correction_command_refuses_an_implausible_time_in_one_line(
    pilots: Pilots, tmp_path: Path
) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text("所属,会議日,録音時間(分),修正時間(分)\n総務課,2019/5/10,35,\n", "utf-8")
    pilots("asr", "import", str(usage))
    (job,) = json.loads(pilots("asr", "jobs", "--json").output)
    for typed in ("3500", "1e308", "nan", "inf"):
        refused = pilots("asr", "correction", str(job["job_id"]), typed, ok=False)
        assert refused.exit_code == 1, typed
        (line,) = refused.stderr.strip().splitlines()
        assert line.startswith("エラー: 修正時間: "), line
    (job,) = json.loads(pilots("asr", "jobs", "--json").output)
    assert job["correction_minutes"] is None
    # The same limit through the environment variable of the dotted setting.
    runner_env = {"PILOTS_ASR_MAX_CORRECTION_RATIO": "2"}
    from click.testing import CliRunner

    from pilots.cli import cli

    strict = CliRunner().invoke(
        cli, ["--db", pilots.db_url, "asr", "correction", str(job["job_id"]), "71"], env=runner_env
    )
    assert strict.exit_code == 1 and "（70分）を超えています" in strict.stderr
    assert pilots("asr", "correction", str(job["job_id"]), "35").exit_code == 0


def test_the_usage_import_rejects_implausible_correction_times(
    session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "usage.csv"
    path.write_text(
        "所属,会議日,録音時間(分),修正時間(分)\n"
        "総務課,2019/5/10,35,3500\n"  # 35 typed as 3500
        "総務課,2019/5/11,35,1e308\n"
        "総務課,2019/5/12,35,-1\n"
        "総務課,2019/5/13,35,35\n",
        encoding="utf-8",
    )
    result = import_usage(session, path, max_correction_ratio=RATIO)
    assert result.added == 1
    limit = (
        "を超えています。分で入力したか確かめてください"
        "（倍率の上限は設定 PILOTS_ASR_MAX_CORRECTION_RATIO）"
    )
    assert [(r.line, r.reason) for r in result.rejected] == [
        (2, f"修正時間(分): 3,500分は録音の長さ（35分）の10倍（350分）{limit}"),
        (3, f"修正時間(分): 1e+308分は録音の長さ（35分）の10倍（350分）{limit}"),
        (4, "修正時間(分): 0以上の分数にしてください: -1"),
    ]
    assert session.scalar(select(func.max(AsrJob.correction_minutes))) == 35


def test_a_small_negative_saving_never_shows_as_minus_zero(pilots: Pilots, tmp_path: Path) -> None:
    usage = tmp_path / "usage.csv"
    # Default rate 4.0: 総務課 1.0 h × 4 − 241/60 h = −0.0167 h (rounds to 0);
    # 人事課 1.0 h × 4 − 590/60 h = −5.83 h (a real loss, shown with its sign).
    usage.write_text(
        "所属,会議日,録音時間(分),修正時間(分)\n総務課,2019/5/10,60,241\n人事課,2019/5/20,60,590\n",
        encoding="utf-8",
    )
    pilots("asr", "import", str(usage))
    summary = pilots("asr", "summary", "--fy", "2019", "--period", "final").output
    jobs = pilots("asr", "jobs").output
    for text in (summary, jobs):
        assert not re.search(r"-0(\.0+)?(?![.\d])", text), text
    assert re.search(r"総務課\s+1\s+1\s+1\.0\s+4（既定）\s+0\.0$", summary, re.MULTILINE), summary
    assert re.search(r"人事課\s+1\s+1\s+1\.0\s+4（既定）\s+-5\.8$", summary, re.MULTILINE), summary
    out = tmp_path / "reports"
    plan = str(DATA / "report" / "plan.yaml")
    pilots("report", "--fy", "2019", "--period", "final", "--plan", plan, "-o", str(out))
    for name in ("report_fy2019_final.html", "report_fy2019_final.md"):
        text = (out / name).read_text(encoding="utf-8")
        assert not re.search(r"-0(\.0+)?時間", text), name
        assert "ひと月あたり平均0時間の業務削減" in text  # −5.85 h / 12 months = −0.49
    # Up to the end of May (2 months): −2.92 h a month is an increase of work, said so.
    pilots("report", "--fy", "2019", "--period", "final", "--as-of", "2019-05-31", "--plan", plan,
           "-o", str(out), "--format", "md")  # fmt: skip
    text = (out / "report_fy2019_final_asof2019-05-31.md").read_text(encoding="utf-8")
    assert "ひと月あたり平均3時間の業務増" in text
    assert "-2.9時間/月" in text  # the indicator keeps its sign


# --- a job's identity: the recording and its department (issue 10) ------------------------


def _transcript(sha: str, department: str, title: str, day: date) -> Any:
    from pilots.asr.result import MeetingInfo, Transcript, Utterance

    return Transcript(
        audio=Path("会議.m4a"),
        audio_sha256=sha,
        duration=1800.0,
        language="ja",
        model="base",
        meeting=MeetingInfo(title=title, date=day, department=department),
        utterances=[Utterance(start=0.0, end=3.0, text="開会します。", raw_text="開会します")],
    )


def test_the_same_recording_from_two_departments_is_two_jobs(session: Session) -> None:
    from pilots.asr.jobs import record_transcription

    sha = "c" * 64
    today = date(2019, 7, 1)
    soumu = record_transcription(
        session, _transcript(sha, "総務課", "総務課定例", date(2019, 6, 3)), [], today=today
    )
    _report(session, soumu.job_id, 20, default_rate=DEFAULT, max_ratio=RATIO)
    jinji = record_transcription(
        session, _transcript(sha, "人事課", "人事課の説明会", date(2019, 6, 10)), [], today=today
    )
    assert soumu.created and jinji.created and jinji.job_id != soumu.job_id
    jobs = {j.job_id: j for j in list_jobs(session, default_rate=DEFAULT)}
    first = jobs[soumu.job_id]
    # The first department's record is as it was: department, title, date, correction.
    assert (first.department, first.title, first.meeting_date, first.correction_minutes) == (
        "総務課", "総務課定例", date(2019, 6, 3), 20,
    )  # fmt: skip
    assert (jobs[jinji.job_id].department, jobs[jinji.job_id].title) == ("人事課", "人事課の説明会")
    # The same department transcribing it again updates its own job.
    again = record_transcription(
        session, _transcript(sha, "総務課 ", "総務課定例（再）", date(2019, 6, 3)), [], today=today
    )
    assert (again.job_id, again.created) == (soumu.job_id, False)
    assert session.scalar(select(func.count()).select_from(AsrJob)) == 2
    # A job logged without a department is taken over by the department named later.
    lone = record_transcription(session, _transcript("d" * 64, "", "", today), [], today=today)
    named = record_transcription(
        session, _transcript("d" * 64, "財政課", "予算", today), [], today=today
    )
    assert (named.job_id, named.created) == (lone.job_id, False)


def test_truncated_last_row_is_rejected_with_its_line(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    path.write_text(
        '所属,会議日,録音時間(分),修正時間(分),会議名\n総務課,2019/5/1,60,30,"定例"\n'
        '人事課,2019/5/2,60,30,"採用',
        encoding="utf-8",
    )
    result = import_usage(session, path, max_correction_ratio=RATIO)
    assert (result.rows, result.added) == (2, 1)
    assert [(r.line, r.reason) for r in result.rejected] == [(3, TruncatedRowError.REASON)]
    s = summarize(session, period(2019, "final"), default_rate=DEFAULT)
    assert [r.line for r in s.rejected_rows] == [3]
