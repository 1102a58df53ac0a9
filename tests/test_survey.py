"""The satisfaction survey: importing form exports and the satisfaction rate (SPEC §5).

The survey used throughout, 36 respondents, checked by hand:

=============  ==========================================  =====  =========
department     answers                                     valid  satisfied
=============  ==========================================  =====  =========
総務課         大変満足 ×6, 満足 ×6, 無回答 ×1                12     12
人事課         大変満足 ×4, 満足 ×6, どちらともいえない ×2,   13     10
               不満 ×1, blank ×2
新設課 (new)   満足 ×4, 普通 ×1, 大変不満 ×1                    6      4
(none)         該当なし ×1, やや満足 ×1 (not on the scale)       0      0
=============  ==========================================  =====  =========

valid = 31, satisfied = 26: 26 / 31 = 0.83871; Wilson 95% ≈ [0.674, 0.929].
Target 0.70: met (0.839 ≥ 0.70) but not with confidence (0.674 < 0.70).
Distribution: 大変満足 10, 満足 16, どちらともいえない 3 (普通 counts here), 不満 1, 大変不満 1.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pilots import db
from pilots.errors import ConfigError, InputFileError, NotFoundError
from pilots.survey.ingest import default_survey_name, import_survey
from pilots.survey.measure import summarize_survey, wilson_interval
from pilots.survey.scale import classify
from pilots.tables import Department, SurveyResponse
from tests.conftest import DATA, Pilots

QUESTION = "音声認識による議事録作成支援の満足度を教えてください"
COMMENT = "ご意見・ご感想があればご記入ください"
TRICKY = '<script>alert("x")</script> & 「改善」\n二行目'

ANSWERS: list[tuple[str, str]] = (
    [("総務課", "大変満足")] * 6
    + [("総務課", "満足")] * 6
    + [("総務課", "無回答")]
    + [("人事課", "大変満足")] * 4
    + [("人事課", "満足")] * 6
    + [("人事課", "どちらともいえない")] * 2
    + [("人事課", "不満"), ("人事課", ""), ("人事課", "")]
    + [("新設課", "満足")] * 4
    + [("新設課", "普通"), ("新設課", "大変不満")]
    + [("", "該当なし"), ("", "やや満足")]
)
COMMENTS = {0: "議事録作成が早くなった", 13: TRICKY, 30: "専門用語の誤認識が多い"}


def _forms_xlsx(
    path: Path,
    answers: list[tuple[str, str]] = ANSWERS,
    *,
    extra: bool = False,
    completed: Callable[[int], object] | None = None,
) -> Path:
    """A Microsoft Forms export: metadata columns, then one column per question.

    ``completed(i)`` gives respondent i's 完了時刻 (default: 3 minutes after the start).
    """
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Sheet1"
    header = ["ID", "開始時刻", "完了時刻", "メール", "名前", "最終変更時刻", "所属", QUESTION]
    if extra:
        header.append("操作性の満足度")
    header += ["利用頻度", COMMENT]
    ws.append(header)
    start = datetime(2020, 2, 3, 9, 0)
    for i, (dept, answer) in enumerate(answers):
        at = start + timedelta(minutes=i)
        row: list[object] = [
            i + 1,
            at,
            at + timedelta(minutes=3) if completed is None else completed(i),
            f"user{i}@pref.example.lg.jp",
            f"職員{i}",
            None,
            dept or None,
            answer or None,
        ]
        if extra:
            row.append("満足" if i % 2 else "不満")
        row += ["毎週" if i % 3 else "月1回", COMMENTS.get(i)]
        ws.append(row)
    book.save(path)
    return path


def _google_csv(answers: list[tuple[str, str]] = ANSWERS) -> str:
    """A Google Forms / LoGoフォーム style CSV: a timestamp, no response ID."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["タイムスタンプ", "所属名", "満足度", "ご意見"])
    for i, (dept, answer) in enumerate(answers):
        writer.writerow([f"2020/02/03 9:{i:02d}:00", dept, answer, COMMENTS.get(i, "")])
    return out.getvalue()


# --- reading answers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("大変満足", ("valid", "大変満足")),
        (" 満足　", ("valid", "満足")),
        ("どちらとも いえない", ("valid", "どちらともいえない")),
        ("普通", ("valid", "どちらともいえない")),
        ("ふつう", ("valid", "どちらともいえない")),
        ("不満", ("valid", "不満")),
        ("大変不満", ("valid", "大変不満")),
        ("1. 大変満足", ("valid", "大変満足")),
        ("５：大変満足", ("valid", "大変満足")),
        ("(2)不満", ("valid", "不満")),
        ("①満足", ("valid", "満足")),
        ("", ("non_response", None)),
        (None, ("non_response", None)),
        ("無回答", ("non_response", None)),
        ("未回答", ("non_response", None)),
        ("該当なし", ("non_response", None)),
        ("やや満足", ("unrecognised", None)),
        ("非常に満足", ("unrecognised", None)),
        ("満足です", ("unrecognised", None)),
    ],
)
def test_classify(raw: str | None, expected: tuple[str, str | None]) -> None:
    assert classify(raw) == expected


def test_wilson_interval_by_hand() -> None:
    low, high = wilson_interval(26, 31)
    # p = 0.83871, z² = 3.841459; centre = (p + z²/62) / (1 + z²/31) = 0.801372;
    # half = z·√(p(1−p)/31 + z²/3844) / 1.123918 = 0.127710
    assert low == pytest.approx(0.6737, abs=1e-4)
    assert high == pytest.approx(0.9291, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0
    with pytest.raises(ValueError):
        wilson_interval(1, 0)


def test_default_survey_name_drops_the_forms_range() -> None:
    assert default_survey_name("exports/満足度調査(1-36).xlsx") == "満足度調査"
    assert default_survey_name("満足度調査（1-36）.xlsx") == "満足度調査"
    assert default_survey_name("survey.csv") == "survey"


# --- importing and the figures -------------------------------------------------------------


def _check_figures(session: Session, name: str) -> None:
    s = summarize_survey(session, name, target=0.70)
    assert (s.responses, s.valid, s.non_responses, s.unrecognised) == (36, 31, 4, 1)
    assert s.satisfied == 26
    assert s.satisfaction_rate == pytest.approx(0.8387, abs=1e-4)
    assert s.ci95 is not None
    assert s.ci95[0] == pytest.approx(0.674, abs=1e-3)
    assert s.ci95[1] == pytest.approx(0.929, abs=1e-3)
    assert (s.met, s.met_with_confidence) == (True, False)
    assert s.distribution == {
        "大変満足": 10,
        "満足": 16,
        "どちらともいえない": 3,
        "不満": 1,
        "大変不満": 1,
    }
    by_dept = {d.department: d for d in s.by_department}
    assert (by_dept["総務課"].responses, by_dept["総務課"].valid, by_dept["総務課"].satisfied) == (
        13,
        12,
        12,
    )
    assert by_dept["人事課"].satisfaction_rate == pytest.approx(10 / 13)
    assert (by_dept["新設課"].valid, by_dept["新設課"].satisfied) == (6, 4)
    unknown = by_dept["所属不明"]
    assert (unknown.responses, unknown.valid, unknown.satisfaction_rate) == (2, 0, None)
    assert s.by_department[-1].department == "所属不明"
    assert sorted((e.status, e.answer_raw) for e in s.excluded) == [
        ("non_response", ""),
        ("non_response", ""),
        ("non_response", "無回答"),
        ("non_response", "該当なし"),
        ("unrecognised", "やや満足"),
    ]
    assert [c.text for c in s.comments] == [COMMENTS[0], TRICKY, COMMENTS[30]]
    assert s.comments[1].department == "人事課"


def test_forms_xlsx(session: Session, tmp_path: Path) -> None:
    path = _forms_xlsx(tmp_path / "音声認識 満足度調査(1-36).xlsx")
    result = import_survey(session, path)
    assert result.survey == "音声認識 満足度調査"
    assert result.question == QUESTION
    assert result.department_column == "所属"
    assert result.respondent_id_column == "ID"
    assert result.comment_columns == [COMMENT]
    assert (result.rows, result.added, result.valid, result.non_responses) == (36, 36, 31, 4)
    assert result.unrecognised == 1
    assert result.departments_created == ["総務課", "人事課", "新設課"]
    _check_figures(session, "音声認識 満足度調査")
    # Names and e-mail addresses are not kept.
    stored = session.scalars(select(SurveyResponse)).all()
    assert not any("pref.example" in json.dumps([r.comments, r.answer_raw]) for r in stored)
    assert stored[0].respondent_id == "1"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_csv_in_each_encoding(session: Session, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "google.csv"
    path.write_bytes(_google_csv().encode(encoding))
    result = import_survey(session, path, survey="満足度調査")
    assert result.encoding == ("cp932" if encoding == "cp932" else "utf-8-sig")
    assert (result.question, result.department_column, result.respondent_id_column) == (
        "満足度",
        "所属名",
        None,
    )
    assert result.added == 36
    _check_figures(session, "満足度調査")


def test_reimport_adds_nothing_and_a_longer_export_adds_the_new_rows(
    session: Session, tmp_path: Path
) -> None:
    path = _forms_xlsx(tmp_path / "満足度調査(1-36).xlsx")
    import_survey(session, path)
    again = import_survey(session, path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 36)
    longer = _forms_xlsx(
        tmp_path / "満足度調査(1-38).xlsx", [*ANSWERS, ("総務課", "満足"), ("人事課", "不満")]
    )
    result = import_survey(session, longer)
    assert (result.survey, result.added, result.unchanged) == ("満足度調査", 2, 36)
    s = summarize_survey(session, None, target=0.7)
    assert (s.responses, s.valid, s.satisfied) == (38, 33, 27)


def test_csv_reimport_without_ids_adds_nothing(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    # Two respondents with identical rows stay two responses.
    answers = [("総務課", "満足"), ("総務課", "満足"), ("人事課", "不満")]
    path.write_text("所属,満足度\n" + "".join(f"{d},{a}\n" for d, a in answers), encoding="utf-8")
    assert import_survey(session, path).added == 3
    assert import_survey(session, path).added == 0
    assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 3


def test_edited_response_is_updated(session: Session, tmp_path: Path) -> None:
    import_survey(session, _forms_xlsx(tmp_path / "s.xlsx"), survey="s")
    edited = list(ANSWERS)
    edited[25] = ("人事課", "満足")  # respondent 26 changed 不満 → 満足
    result = import_survey(session, _forms_xlsx(tmp_path / "s2.xlsx", edited), survey="s")
    assert (result.added, result.updated, result.unchanged) == (0, 1, 35)
    assert summarize_survey(session, "s", target=0.7).satisfied == 27


def test_several_scale_columns_are_listed_and_question_picks_one(
    session: Session, tmp_path: Path
) -> None:
    path = _forms_xlsx(tmp_path / "two.xlsx", extra=True)
    with pytest.raises(InputFileError) as info:
        import_survey(session, path)
    message = str(info.value)
    assert "5段階の満足度で答えた列が複数あります" in message
    assert f"「{QUESTION}」" in message and "「操作性の満足度」" in message
    assert "--question" in message
    result = import_survey(session, path, question=QUESTION)
    assert result.question == QUESTION
    _check_figures(session, "two")
    with pytest.raises(ConfigError, match="--question: 列「ない設問」がありません"):
        import_survey(session, path, survey="other", question="ない設問")


def test_no_scale_column_is_an_error(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "none.csv"
    path.write_text("所属,利用頻度\n総務課,毎週\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"5段階の満足度.*見つかりません.*「利用頻度」"):
        import_survey(session, path)


def test_department_column_option(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "dept.csv"
    path.write_text("回答者の課,満足度\n総務課,満足\n財政課,不満\n", encoding="utf-8")
    result = import_survey(session, path, department_column="回答者の課")
    assert result.department_column == "回答者の課"
    assert result.departments_created == ["総務課", "財政課"]
    names = set(session.scalars(select(Department.name)))
    assert names == {"総務課", "財政課"}
    with pytest.raises(ConfigError, match="--department-column"):
        import_survey(session, path, department_column="部署コード")


def test_department_is_found_by_a_header_that_contains_it(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "loose.csv"
    path.write_text(
        "ご所属の課を選んでください,所属での利用の満足度\n総務課,満足\n財政課,不満\n",
        encoding="utf-8",
    )
    result = import_survey(session, path)
    assert result.department_column == "ご所属の課を選んでください"
    assert result.question == "所属での利用の満足度"


def test_other_question_in_the_same_survey_is_refused(session: Session, tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("満足度\n満足\n", encoding="utf-8")
    import_survey(session, first, survey="調査")
    second = tmp_path / "b.csv"
    second.write_text("総合評価\n満足\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="設問「満足度」で取り込み済み"):
        import_survey(session, second, survey="調査")


def test_no_valid_answer_is_still_being_measured(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("満足度,感想\n無回答,\n,使いやすい\n", encoding="utf-8")
    import_survey(session, path, question="満足度")
    s = summarize_survey(session, "empty", target=0.7)
    assert (s.responses, s.non_responses) == (2, 2)
    assert [c.text for c in s.comments] == ["使いやすい"]
    assert (s.valid, s.satisfaction_rate, s.ci95, s.met, s.met_with_confidence) == (
        0,
        None,
        None,
        None,
        None,
    )


def test_summary_needs_a_survey(session: Session, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="まだ取り込まれていません"):
        summarize_survey(session, None, target=0.7)
    for name in ("a", "b"):
        path = tmp_path / f"{name}.csv"
        path.write_text("満足度\n満足\n", encoding="utf-8")
        import_survey(session, path)
    with pytest.raises(ConfigError, match="--survey: 調査が複数あります: a、b"):
        summarize_survey(session, None, target=0.7)
    with pytest.raises(NotFoundError, match="調査「c」はありません"):
        summarize_survey(session, "c", target=0.7)
    with pytest.raises(ConfigError, match="--target"):
        summarize_survey(session, "a", target=1.5)


# --- completion times and interim summaries (as_of) -----------------------------------------

AS_OF = date(2019, 9, 30)


def _half_before_as_of(i: int) -> datetime:
    """Even respondents complete by the end of 2019-09-30, odd ones later.

    The edges: respondent 0 at 2019-09-30 23:59:59 (counted), respondent 1 at
    2019-10-01 00:00:00 (not counted).
    """
    if i == 0:
        return datetime(2019, 9, 30, 23, 59, 59)
    if i == 1:
        return datetime(2019, 10, 1)
    return datetime(2019, 9, 2, 10) + timedelta(hours=i) if i % 2 == 0 else datetime(2020, 2, 3)


def test_forms_completion_time_and_as_of(session: Session, tmp_path: Path) -> None:
    path = _forms_xlsx(tmp_path / "s.xlsx", completed=_half_before_as_of)
    result = import_survey(session, path)
    assert (result.completion_column, result.warnings) == ("完了時刻", [])
    stored = {r.line: r.completed_at for r in session.scalars(select(SurveyResponse))}
    assert stored[2] == datetime(2019, 9, 30, 23, 59, 59)  # xlsx row 2 is respondent 0
    assert stored[3] == datetime(2019, 10, 1)

    # The 18 even respondents (0, 2, …, 34), from ANSWERS:
    #   総務課 大変満足 0,2,4 · 満足 6,8,10 · 無回答 12
    #   人事課 大変満足 14,16 · 満足 18,20,22 · どちらともいえない 24 · blank 26
    #   新設課 満足 28,30 · 普通 32 · (none) 該当なし 34
    # valid 15, satisfied 3+3+2+3+2 = 13, non-responses 3, unrecognised 0.
    s = summarize_survey(session, "s", target=0.70, as_of=AS_OF)
    assert (s.as_of, s.responses_after_as_of) == (AS_OF, 18)
    assert (s.responses, s.valid, s.non_responses, s.unrecognised) == (18, 15, 3, 0)
    assert s.satisfied == 13
    assert s.satisfaction_rate == pytest.approx(13 / 15)
    assert s.ci95 == wilson_interval(13, 15)
    assert s.distribution == {
        "大変満足": 5,
        "満足": 8,
        "どちらともいえない": 2,
        "不満": 0,
        "大変不満": 0,
    }
    by_dept = {d.department: (d.responses, d.valid, d.satisfied) for d in s.by_department}
    assert by_dept == {
        "総務課": (7, 6, 6),
        "人事課": (7, 6, 5),
        "新設課": (3, 3, 2),
        "所属不明": (1, 0, 0),
    }
    assert [c.text for c in s.comments] == [COMMENTS[0], COMMENTS[30]]  # 13 is odd: later
    assert "2019-09-30" in s.rules["as_of"] and "18件を除く" in s.rules["as_of"]

    # Without as_of, or with a day after every response, all 36 count as before.
    _check_figures(session, "s")
    everything = summarize_survey(session, "s", target=0.70, as_of=date(2020, 3, 31))
    assert (everything.responses, everything.responses_after_as_of) == (36, 0)
    assert summarize_survey(session, "s", target=0.7).as_of is None


def test_google_forms_timestamp(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "google.csv"
    path.write_text(
        "タイムスタンプ,所属名,満足度\n"
        "2019/09/30 9:15:00,総務課,満足\n"
        "2020/02/03 9:15:00,総務課,不満\n"
        "2020/02/03 9:15:00,人事課,大変満足\n",
        encoding="utf-8",
    )
    result = import_survey(session, path, survey="g")
    assert (result.completion_column, result.added, result.warnings) == ("タイムスタンプ", 3, [])
    times = session.scalars(select(SurveyResponse.completed_at).order_by(SurveyResponse.line)).all()
    assert times == [datetime(2019, 9, 30, 9, 15), *[datetime(2020, 2, 3, 9, 15)] * 2]
    interim = summarize_survey(session, "g", target=0.7, as_of=AS_OF)
    assert (interim.responses, interim.satisfied, interim.responses_after_as_of) == (1, 1, 2)
    final = summarize_survey(session, "g", target=0.7, as_of=date(2020, 2, 3))
    assert (final.responses, final.valid, final.satisfied) == (3, 3, 2)
    assert import_survey(session, path, survey="g").added == 0


@pytest.mark.parametrize(
    "header", ["Completion time", "Timestamp", "回答日時", "送信日時", "回答日", "受付日時"]
)
def test_other_completion_headers(session: Session, tmp_path: Path, header: str) -> None:
    path = tmp_path / "other.csv"
    path.write_text(f"{header},満足度\n令和元年9月30日,満足\n", encoding="utf-8")
    result = import_survey(session, path)
    assert (result.completion_column, result.question) == (header, "満足度")
    assert session.scalar(select(SurveyResponse.completed_at)) == datetime(2019, 9, 30)


def test_unreadable_completion_time_keeps_the_answer(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "回答日時,所属,満足度\n"
        "2019/09/10 10:00:00,総務課,満足\n"
        "不明,総務課,不満\n"
        "2020/02/03 9:15:00,人事課,満足\n"
        "2019/13/45 9:00,人事課,大変満足\n"
        ",人事課,満足\n",
        encoding="utf-8",
    )
    result = import_survey(session, path, survey="bad")
    assert (result.rows, result.added, result.valid) == (5, 5, 5)
    assert [(w.line, w.column, w.value) for w in result.warnings] == [
        (3, "回答日時", "不明"),
        (5, "回答日時", "2019/13/45 9:00"),
        (6, "回答日時", ""),
    ]
    assert result.warnings[0].reason.startswith("日付として読めません: 不明")
    assert "空" in result.warnings[2].reason
    undated = session.scalars(
        select(SurveyResponse.line).where(SurveyResponse.completed_at.is_(None))
    ).all()
    assert sorted(undated) == [3, 5, 6]

    # Counted on any cut-off: lines 2 (満足), 3 (不満), 5 (大変満足), 6 (満足); line 4 is later.
    s = summarize_survey(session, "bad", target=0.7, as_of=AS_OF)
    assert (s.responses, s.valid, s.satisfied, s.responses_after_as_of) == (4, 4, 3, 1)
    assert "完了時刻のない回答 3件は常に数える" in s.rules["as_of"]

    again = import_survey(session, path, survey="bad")
    assert (again.added, again.updated, again.unchanged, len(again.warnings)) == (0, 0, 5, 3)
    assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 5


def test_reimport_keeps_identity_and_a_known_time(session: Session, tmp_path: Path) -> None:
    import_survey(
        session, _forms_xlsx(tmp_path / "a.xlsx", completed=_half_before_as_of), survey="s"
    )
    again = import_survey(
        session, _forms_xlsx(tmp_path / "b.xlsx", completed=_half_before_as_of), survey="s"
    )
    assert (again.added, again.updated, again.unchanged, again.warnings) == (0, 0, 36, [])

    # An export whose time cannot be read does not erase the one stored.
    def garbled(i: int) -> object:
        return "不明" if i == 0 else _half_before_as_of(i)

    result = import_survey(session, _forms_xlsx(tmp_path / "c.xlsx", completed=garbled), survey="s")
    assert (result.added, result.updated, result.unchanged) == (0, 0, 36)
    assert [(w.line, w.value) for w in result.warnings] == [(2, "不明")]
    first = session.scalar(select(SurveyResponse).where(SurveyResponse.respondent_id == "1"))
    assert first is not None and first.completed_at == datetime(2019, 9, 30, 23, 59, 59)

    # A new completion time for a known response ID is an update, not a new response.
    def resent(i: int) -> object:
        return datetime(2019, 10, 2) if i == 0 else _half_before_as_of(i)

    result = import_survey(session, _forms_xlsx(tmp_path / "d.xlsx", completed=resent), survey="s")
    assert (result.added, result.updated, result.unchanged) == (0, 1, 35)
    s = summarize_survey(session, "s", target=0.7, as_of=AS_OF)
    assert (s.responses, s.responses_after_as_of) == (17, 19)


def test_responses_imported_before_the_migration_gain_their_time(
    db_url: str, tmp_path: Path
) -> None:
    """A database at 0004 with responses: upgrading keeps them; re-importing fills the time."""
    from alembic import command

    engine = db.make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(db._alembic_config(conn), "0004")
    path = tmp_path / "google.csv"
    path.write_text(_google_csv(), encoding="utf-8")
    key = "0" * 64
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO surveys (name, question, source_file) VALUES ('g', '満足度', 'x')"
        )
        conn.exec_driver_sql(
            "INSERT INTO survey_responses (survey_id, response_key, import_file, line,"
            " department_text, answer_raw, answer, status, comments)"
            f" SELECT id, '{key}', 'x', 2, '', '満足', '満足', 'valid', '[]' FROM surveys"
        )
    assert db.upgrade(engine) is True
    factory = db.session_factory(engine)
    with db.session_scope(factory) as session:
        old = session.scalar(select(SurveyResponse))
        assert old is not None and (old.answer, old.completed_at) == ("満足", None)
        first = import_survey(session, path, survey="g")
        assert first.added == 36
    engine.dispose()

    # As if the file had been imported before the upgrade (no times stored): importing
    # it again fills the times in and adds nothing.
    engine = db.make_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE survey_responses SET completed_at = NULL")
    with db.session_scope(db.session_factory(engine)) as session:
        again = import_survey(session, path, survey="g")
        assert (again.added, again.updated, again.unchanged) == (0, 36, 0)
        third = import_survey(session, path, survey="g")
        assert (third.added, third.updated) == (0, 0)
        assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 37
    engine.dispose()


# --- the command line --------------------------------------------------------------------

SUMMARY_KEYS = {
    "responses",
    "valid",
    "satisfied",
    "satisfaction_rate",
    "ci95",
    "target",
    "met",
    "met_with_confidence",
    "distribution",
    "by_department",
    "comments",
    "as_of",
    "responses_after_as_of",
}


def test_survey_cli(pilots: Pilots, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _forms_xlsx(tmp_path / "満足度調査(1-36).xlsx", extra=True)
    result = pilots("survey", "import", str(path), ok=False)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "「操作性の満足度」" in result.stderr
    out = pilots("survey", "import", str(path), "--question", QUESTION).output
    assert "調査「満足度調査」: 36件（追加 36、更新 0、変更なし 0）" in out
    assert "有効回答 31件、無回答 4件、5段階にない回答 1件" in out
    again = json.loads(
        pilots("survey", "import", str(path), "--question", QUESTION, "--json").output
    )
    assert (again["added"], again["unchanged"]) == (0, 36)

    data = json.loads(pilots("survey", "summary", "--json").output)
    assert set(data) >= SUMMARY_KEYS
    assert (data["valid"], data["satisfied"], data["target"]) == (31, 26, 0.7)
    assert data["satisfaction_rate"] == pytest.approx(0.8387, abs=1e-4)
    assert [round(x, 3) for x in data["ci95"]] == [0.674, 0.929]
    assert (data["met"], data["met_with_confidence"]) == (True, False)
    assert data["comments"][1]["text"] == TRICKY  # verbatim: escaping is the report's job

    strict = json.loads(pilots("survey", "summary", "--target", "0.9", "--json").output)
    assert (strict["target"], strict["met"]) == (0.9, False)
    monkeypatch.setenv("PILOTS_SATISFACTION_TARGET", "0.65")
    loose = json.loads(pilots("survey", "summary", "--survey", "満足度調査", "--json").output)
    assert (loose["target"], loose["met_with_confidence"]) == (0.65, True)

    text = pilots("survey", "summary").output
    assert "満足度: 83.87%（大変満足＋満足 26件 ÷ 有効 31件）" in text
    assert "95%信頼区間（Wilson）: 67.37% 〜 92.91%" in text
    assert "<script>" in text and "\x1b" not in text

    interim = json.loads(pilots("survey", "summary", "--as-of", "2020-02-03", "--json").output)
    assert (interim["as_of"], interim["responses"], interim["responses_after_as_of"]) == (
        "2020-02-03",
        36,
        0,
    )
    early = pilots("survey", "summary", "--as-of", "令和元年9月30日").output
    assert "基準日 2019-09-30: それより後に完了した36件は数えていません" in early
    assert "満足度: —" in early


def test_survey_cli_as_of_and_unreadable_times(pilots: Pilots, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "タイムスタンプ,満足度\n2019/09/10 10:00:00,満足\nあとで,不満\n", encoding="utf-8"
    )
    out = pilots("survey", "import", str(path)).output
    assert "完了時刻の列: 「タイムスタンプ」" in out
    assert "完了時刻を読めなかった行 1件" in out and "あとで" in out
    data = json.loads(pilots("survey", "import", str(path), "--json").output)
    assert (data["added"], data["warnings"][0]["line"]) == (0, 3)
    result = pilots("survey", "summary", "--as-of", "2019-13-01", ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("エラー: --as-of: ")


def test_survey_cli_errors(pilots: Pilots, tmp_path: Path) -> None:
    result = pilots("survey", "summary", ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("エラー: 満足度調査はまだ取り込まれていません")
    result = pilots("survey", "import", str(DATA / "nope.csv"), ok=False)
    assert "nope.csv: ファイルがありません" in result.stderr


def test_truncated_last_row_is_listed_as_unreadable(pilots: Pilots, tmp_path: Path) -> None:
    """A download cut off inside a quoted comment: the cut row is no answer."""
    path = tmp_path / "満足度.csv"
    path.write_text(
        "所属,満足度,ご意見\n"
        '総務課,満足,"とても便利"\n'
        '人事課,大変満足,"字幕も\n出せると良い"\n'
        '財政課,満足,"途中で切れ',
        encoding="utf-8",
    )
    out = pilots("survey", "import", str(path)).output
    assert "3件（追加 2、更新 0、変更なし 0、読めない行 1）" in out
    assert "有効回答 2件" in out
    assert "読めないため取り込まなかった行 1件" in out
    assert '5   引用符（"）で始まった値が閉じないままファイルが終わっています' in out
    data = json.loads(pilots("survey", "summary", "--json").output)
    assert (data["responses"], data["valid"]) == (2, 2)
    again = json.loads(pilots("survey", "import", str(path), "--json").output)
    assert [(r["line"], r["values"]) for r in again["rejected"]] == [
        (5, ["財政課", "満足", "途中で切れ"])
    ]
    # A file whose only row is cut off is refused, naming that row.
    only = tmp_path / "only.csv"
    only.write_text('所属,満足度,ご意見\n総務課,満足,"途中', encoding="utf-8")
    result = pilots("survey", "import", str(only), ok=False)
    assert result.stderr.startswith(f'エラー: {only} 2行目: 引用符（"）で始まった値が')


def test_survey_delete_asks_first(pilots: Pilots, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pilots.cli import cli

    path = _forms_xlsx(tmp_path / "誤って取り込んだ調査.xlsx")
    pilots("survey", "import", str(path), "--question", QUESTION)
    runner = CliRunner()
    kept = runner.invoke(
        cli, ["--db", pilots.db_url, "survey", "delete", "誤って取り込んだ調査"], input="n\n"
    )
    assert kept.exit_code != 0
    assert "誤って取り込んだ調査" in pilots("survey", "summary").output
    gone = runner.invoke(
        cli, ["--db", pilots.db_url, "survey", "delete", "誤って取り込んだ調査"], input="y\n"
    )
    assert gone.exit_code == 0, gone.output
    assert "調査「誤って取り込んだ調査」を削除しました（回答 36件）" in gone.output
    missing = pilots("survey", "delete", "誤って取り込んだ調査", "--yes", ok=False)
    assert missing.exit_code == 1 and "調査「誤って取り込んだ調査」はありません" in missing.stderr
    assert pilots("survey", "summary", ok=False).stderr.startswith("エラー: 満足度調査はまだ")
