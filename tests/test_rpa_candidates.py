"""Candidate tasks for next year's RPA (追加適用候補となる業務の選定) from a work survey."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from pilots.errors import InputFileError
from pilots.rpa.candidates import rank_candidates
from pilots.rpa.catalog import import_catalog
from tests.conftest import Pilots

DATA = Path(__file__).parent / "data" / "rpa"


def test_ranking_and_exclusions(session: Session) -> None:
    import_catalog(session, DATA / "catalog.csv")  # 請求書登録 is automated already
    result = rank_candidates(DATA / "survey.csv", rate=0.8, session=session)
    # annual hours = cases × minutes / 60:
    #   児童手当現況届入力 12,000 × 5 = 1,000 h; 公用車運行日誌集計 3,600 × 4 = 240 h;
    #   職員研修申込集計 1,500 × 10 = 250 h
    assert [(c.rank, c.task, c.annual_hours) for c in result.candidates] == [
        (1, "児童手当現況届入力", 1000.0),
        (2, "職員研修申込集計", 250.0),
        (3, "公用車運行日誌集計", 240.0),
    ]
    assert result.candidates[0].expected_hours_reduced == pytest.approx(800.0)
    assert result.candidates[2].unanswered == ["手順が安定"]  # blank: ranked, flagged
    assert result.expected_hours_reduced == pytest.approx((1000 + 250 + 240) * 0.8)
    assert result.departments == 3
    excluded = {e.task: e.reasons for e in result.excluded}
    assert excluded == {
        "道路占用許可台帳更新": ["手順が安定: いいえ"],
        "補助金実績報告チェック": ["入力が電子データ: いいえ"],
        "請求書登録": ["RPA適用済み（業務ID T01）"],
    }
    assert result.criteria == ["ルール化できる", "入力が電子データ", "手順が安定"]


def test_top_and_extra_criteria(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "業務名,所属,年間件数,1件あたり時間(分),適性:システム改修予定なし\n"
        "A,総務課,100,6,はい\nB,総務課,300,6,いいえ\nC,財政課,200,6,\n",
        encoding="utf-8",
    )
    result = rank_candidates(path, rate=0.5, top=1)
    assert [c.task for c in result.candidates] == ["C"]
    assert result.excluded[0].reasons == ["システム改修予定なし: いいえ"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("A,課,-1,5,はい", "3行目（列「年間件数」）: 年間件数は0以上"),
        ("A,課,10,,はい", "3行目（列「1件あたり時間(分)」）: 1件あたり時間(分)が空です"),
        ("A,課,10,5,たぶん", "3行目（列「ルール化できる」）: はい／いいえで答えてください: たぶん"),
        (",課,10,5,はい", "業務名が空です"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        f"業務名,所属,年間件数,1件あたり時間(分),ルール化できる\nZ,課,1,1,はい\n{row}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputFileError) as info:
        rank_candidates(path)
    assert message in str(info.value)


def test_candidates_cli(pilots: Pilots) -> None:
    out = pilots("rpa", "candidates", str(DATA / "survey.csv")).output
    assert "候補 4業務（4所属）" in out  # nothing automated in this empty database
    assert "除外した業務" in out and "手順が安定: いいえ" in out
    data = json.loads(
        pilots("rpa", "candidates", str(DATA / "survey.csv"), "--top", "3", "--json").output
    )
    assert len(data["candidates"]) == 3 and data["rate"] == 0.8


# --- next year's choice (--select) ------------------------------------------------------


def _chosen(pilots: Pilots, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(pilots("rpa", "candidates", *args, "--json").output)
    return data


def test_select_records_survey_and_catalog_tasks(pilots: Pilots) -> None:
    pilots("rpa", "catalog", str(DATA / "catalog.csv"))
    # Ranking the survey keeps its tasks; without an id column they are known by name.
    ranked = _chosen(pilots, str(DATA / "survey.csv"))
    assert ranked["candidates"][0]["task_id"] == "児童手当現況届入力"
    out = pilots(
        "rpa", "candidates", "--select", "児童手当現況届入力", "職員研修申込集計", "T02",
        "--fy", "2019", "--date", "2020-02-20", "--by", "RPA推進担当",
    ).output  # fmt: skip
    assert "令和元年度に選定した令和2年度のRPA適用候補: 3所属3業務" in out
    chosen = _chosen(pilots, "--fy", "2019")
    assert (chosen["candidates_selected"], chosen["departments"], chosen["text"]) == (
        3,
        3,
        "3所属3業務",
    )
    assert [(t["task_id"], t["department"], t["source"]) for t in chosen["tasks"]] == [
        ("児童手当現況届入力", "子育て支援課", "業務量調査"),
        ("職員研修申込集計", "職員課", "業務量調査"),
        ("T02", "人事課", "業務台帳"),
    ]
    first = chosen["tasks"][0]
    assert (first["chosen_on"], first["chosen_by"], first["expected_hours"]) == (
        "2020-02-20",
        "RPA推進担当",
        800.0,  # 1,000 hours a year × 0.8
    )
    # A new choice replaces the year's record; two tasks of one department are 1所属2業務.
    pilots("rpa", "candidates", "--select", "T02", "T02", "--fy", "2019", "--date", "2020-03-01")
    pilots("rpa", "candidates", "--select", "T01", "T02", "--fy", "2019", "--date", "2020-03-01")
    assert _chosen(pilots, "--fy", "2019")["text"] == "2所属2業務"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--select", "T01", "Z99"),
            "エラー: 候補の業務: 「Z99」は業務台帳にも、取り込んだ業務量調査にもありません",
        ),
        (("--select",), "エラー: 候補の業務: 業務を1つ以上選んでください"),
        (("--select", "T01", "--date", "2020-04-01"), "エラー: 選定日: 令和2年4月1日は令和元年度"),
    ],
)
def test_a_bad_choice_is_one_line_and_the_record_stays(
    pilots: Pilots, args: tuple[str, ...], message: str
) -> None:
    pilots("rpa", "catalog", str(DATA / "catalog.csv"))
    pilots("rpa", "candidates", "--select", "T03", "--fy", "2019", "--date", "2020-02-20")
    result = pilots("rpa", "candidates", *args, "--fy", "2019", ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert [t["task_id"] for t in _chosen(pilots, "--fy", "2019")["tasks"]] == ["T03"]


def test_survey_ids_and_the_as_of_date(session: Session, tmp_path: Path) -> None:
    from datetime import date

    from pilots.rpa.selection import chosen_candidates, select_candidates

    path = tmp_path / "s.csv"
    path.write_text(
        "業務ID,業務名,所属,年間件数,1件あたり時間(分)\n"
        "C1,入力,総務課,100,6\nC2,入力,財政課,100,3\nC3,集計,財政課,10,6\n",
        encoding="utf-8",
    )
    rank_candidates(path, session=session, keep=True)
    select_candidates(session, 2019, ["C1", "C2"], chosen_on=date(2020, 2, 20), chosen_by="担当")
    assert chosen_candidates(session, 2019).text == "2所属2業務"
    # The interim report (as of September) does not show a choice made in February.
    assert chosen_candidates(session, 2019, date(2019, 9, 30)).text == "未選定"
    # Without ids, the second task of the same name is known with its department.
    plain = tmp_path / "plain.csv"
    plain.write_text(
        "業務名,所属,年間件数,1件あたり時間(分)\n入力,総務課,100,6\n入力,財政課,100,3\n",
        encoding="utf-8",
    )
    ranked = rank_candidates(plain, session=session, keep=True)
    assert sorted(c.task_id for c in ranked.candidates) == ["入力", "入力（財政課）"]
    twice = tmp_path / "twice.csv"
    twice.write_text(
        "業務ID,業務名,所属,年間件数,1件あたり時間(分)\nC1,入力,総務課,100,6\nC1,集計,財政課,10,6\n",
        encoding="utf-8",
    )
    with pytest.raises(
        InputFileError, match="3行目（列「業務ID」）: 業務 C1 が2行目と重複しています"
    ):
        rank_candidates(twice, session=session, keep=True)
