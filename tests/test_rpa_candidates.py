"""Candidate tasks for next year's RPA (追加適用候補となる業務の選定) from a work survey."""

from __future__ import annotations

import json
from pathlib import Path

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
