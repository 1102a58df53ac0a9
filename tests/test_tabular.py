"""Reading CSV files: a file cut off inside a quoted value is a truncated row everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from pilots.errors import TruncatedRowError
from pilots.org import import_org
from pilots.rpa.catalog import import_catalog
from pilots.rpa.ingest import ingest_file, list_rejects
from pilots.tabular import read_table


@pytest.mark.parametrize(
    "tail",
    [
        '3,"cut',
        '3,"cut\n',
        '3,"two\nlines',
        '3,"a ""quoted',
        '3,"a ""quoted""',
    ],
)
def test_a_cut_off_last_row_is_a_truncated_row(tmp_path: Path, tail: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f'a,b\n1,x\n2,"y\nz"\n{tail}', encoding="utf-8")
    table = read_table(path)
    seen = []
    with pytest.raises(TruncatedRowError) as info:
        seen.extend(table.rows)
    assert seen == [(2, ("1", "x")), (3, ("2", "y\nz"))]
    assert (info.value.line, info.value.cells[0]) == (5, "3")
    assert str(info.value).startswith(f'{path} 5行目: 引用符（"）で始まった値が')


@pytest.mark.parametrize(
    "tail",
    ['3,"whole"', '3,"whole"\n', '3,"a ""quoted"" word"', '3,12" monitor', '3,"x"y', "3,"],
)
def test_a_complete_last_row_is_read(tmp_path: Path, tail: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f"a,b\n1,x\n{tail}", encoding="utf-8")
    rows = list(read_table(path).rows)
    assert [line for line, _ in rows] == [2, 3]


def test_imports_that_refuse_a_bad_row_refuse_a_cut_off_one(
    session: Session, tmp_path: Path
) -> None:
    org = tmp_path / "org.csv"
    org.write_text('所属コード,所属名\n100,総務課\n110,"人事', encoding="utf-8")
    with pytest.raises(TruncatedRowError, match=r"org\.csv 3行目"):
        import_org(session, org)
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "業務ID,業務名,所属,シナリオ名,手作業時間(分/件),件数(件/回)\n"
        'T01,"請求書登録",会計課,請求書登録,6,20\n'
        'T02,"支払',
        encoding="utf-8",
    )
    with pytest.raises(TruncatedRowError, match=r"catalog\.csv 3行目"):
        import_catalog(session, catalog)


def test_run_log_cut_off_keeps_its_last_row_as_a_reject(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text(
        "scenario,started_at,ended_at,status,message\n"
        "請求書登録,2019-07-01 09:00:00,2019-07-01 09:05:00,success,\n"
        '請求書登録,2019-07-02 09:00:00,2019-07-02 09:05:00,failure,"画面が',
        encoding="utf-8",
    )
    result = ingest_file(session, path)
    assert (result.rows, result.runs_added, result.rejected) == (2, 1, 1)
    assert [(r.line, r.reason) for r in list_rejects(session)] == [(3, TruncatedRowError.REASON)]
