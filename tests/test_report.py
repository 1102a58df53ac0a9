"""The effect report: plan file, figures against hand-computed values, escaping, partial data.

The data in tests/data/report/ is small enough to compute by hand (default
baseline rate 4.0 hours per audio hour, no department has its own):

ASR jobs (saved = audio_h × 4.0 − correction_h):
    総務課       2019-05-10  60 min, corrected 120 min → 1.0 × 4 − 2.0 = 2.0 h
    <b>人事課</b> 2019-08-01  90 min, corrected  60 min → 1.5 × 4 − 1.0 = 5.0 h
    <b>人事課</b> 2019-11-11  30 min, not reported      → usage only
    財政課       2020-02-03 120 min, corrected 300 min → 2.0 × 4 − 5.0 = 3.0 h
  final:   3 departments, 10.0 h saved / 12 months = 0.8333 h/month
  interim: 2 departments,  7.0 h saved /  6 months = 1.1667 h/month

Survey: 大変満足, 満足, 不満 and one blank → 2 satisfied of 3 valid = 66.67% (< 70%).

RPA, task T01 (6 min per case, 20 cases per run, 10 min residual, 30 min per failure):
    2019-07-01 success, 10 cases: manual  60, residual 10
    2019-08-01 failure, 20 cases: manual 120, residual 10 + 30 + 120 = 160
    2019-10-01 success, 20 cases: manual 120, residual 10
    2019-07-05 不明シナリオ: unmatched, not counted
  final:   baseline 300/60 = 5.0 h, residual 180/60 = 3.0 h, reduced 2.0 h, rate 40%
  interim: baseline 180/60 = 3.0 h, residual 170/60 = 2.833 h, reduced 0.167 h, rate 5.6%
"""

from __future__ import annotations

import html.parser
import re
from pathlib import Path

import openpyxl
import pytest

from pilots.calendar import period
from pilots.errors import InputFileError
from pilots.report.build import judge
from pilots.report.plan import Indicator, Milestone, load_plan, milestone_state
from tests.conftest import Pilots

DATA = Path(__file__).parent / "data" / "report"
PLAN = DATA / "plan.yaml"


def load_everything(pilots: Pilots) -> None:
    pilots("asr", "import", str(DATA / "usage.csv"))
    pilots("survey", "import", str(DATA / "survey.csv"), "--survey", "満足度調査")
    pilots("rpa", "catalog", str(DATA / "catalog.csv"))
    pilots("rpa", "ingest", str(DATA / "runs.csv"))


def indicator_rows(html_text: str) -> dict[str, tuple[str, str]]:
    """指標一覧: indicator name → (actual, status)."""
    table = html_text.split("<h2>2. 指標一覧</h2>")[1].split("</table>")[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)[1:]:
        cells = [
            re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
        ]
        rows[cells[2]] = (cells[4], cells[5])
    return rows


def test_final_report_figures_and_judgements(pilots: Pilots, tmp_path: Path) -> None:
    load_everything(pilots)
    out = tmp_path / "reports"
    result = pilots(
        "report", "--fy", "2019", "--period", "final", "--plan", str(PLAN), "-o", str(out)
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "report_fy2019_final.html",
        "report_fy2019_final.md",
        "report_fy2019_final.xlsx",
    ]
    assert "利用所属数: 3所属（目標 ≥ 3所属）達成" in result.output
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    assert indicator_rows(page) == {
        "継続的な利用": ("継続中", ""),
        "利用所属数": ("3所属", "達成"),
        "月あたり削減時間": ("0.8時間/月", "未達"),
        "満足度": ("66.67%", "未達"),
        "削減時間": ("2時間", "達成"),
        "削減率": ("40%", "未達"),
        "移行システム数": ("5システム", "未達"),
    }
    assert "令和元年度 テスト用の効果測定報告（最終）" in page
    assert "令和2年3月末時点" in page
    assert "令和元年度に3所属で利用され、ひと月あたり平均1時間の業務削減" in page
    assert "修正時間が未報告のジョブ" in page and "#" in page  # the unreported job is listed
    assert "不明シナリオ" in page  # the unmatched run is shown
    # the method section states each rule and denominator
    assert "修正時間の報告があるジョブ3件" in page
    assert "経過月数 12か月" in page


def test_interim_report_uses_the_first_half_only(pilots: Pilots, tmp_path: Path) -> None:
    load_everything(pilots)
    out = tmp_path / "reports"
    pilots(
        "report",
        "--fy",
        "2019",
        "--period",
        "interim",
        "--plan",
        str(PLAN),
        "-o",
        str(out),
        "--format",
        "html",
    )
    page = (out / "report_fy2019_interim.html").read_text(encoding="utf-8")
    rows = indicator_rows(page)
    assert rows["利用所属数"] == ("2所属", "測定中")  # not reached yet, the year is not over
    assert rows["月あたり削減時間"] == ("1.2時間/月", "達成")  # 7.0 / 6
    assert rows["削減時間"] == ("0.2時間", "測定中")  # 0.167
    assert rows["削減率"] == ("5.56%", "測定中")
    assert rows["移行システム数"] == ("データなし", "測定中")  # entered for 2020-01-31
    assert "令和元年9月末時点" in page
    # the schedule: April done, July–December under way, March planned
    assert re.search(r"運用開始</td><td class=\"state-完了\">完了", page)
    assert re.search(r"各所属で利用</td><td class=\"state-実施中\">実施中", page)
    assert re.search(r"最終測定</td><td class=\"state-予定\">予定", page)


def test_user_text_is_escaped_everywhere(pilots: Pilots, tmp_path: Path) -> None:
    load_everything(pilots)
    out = tmp_path / "reports"
    pilots("report", "--fy", "2019", "--period", "final", "--plan", str(PLAN), "-o", str(out))
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert "<b>人事課</b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page  # the comment, shown as text
    assert "&lt;b&gt;人事課&lt;/b&gt;" in page
    assert "請求書&lt;登録&gt;" in page
    md = (out / "report_fy2019_final.md").read_text(encoding="utf-8")
    assert "<script" not in md and "<b>" not in md
    assert "&lt;script&gt;" in md


class _References(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if (
                name in ("src", "href", "xlink:href", "action", "srcset")
                and value
                and not value.startswith("#")
            ):
                self.external.append(f"{tag} {name}={value}")


def test_html_references_nothing_external(pilots: Pilots, tmp_path: Path) -> None:
    load_everything(pilots)
    out = tmp_path / "reports"
    pilots(
        "report",
        "--fy",
        "2019",
        "--period",
        "final",
        "--plan",
        str(PLAN),
        "-o",
        str(out),
        "--format",
        "html",
    )
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    parser = _References()
    parser.feed(page)
    assert parser.external == []
    assert not parser.tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert "@import" not in page
    assert re.findall(r"url\((?!#)", page) == []  # only references within the page
    assert "svg" in parser.tags  # the charts are inline
    assert page.count("<svg") == 4  # hours per month, departments over time, RPA, satisfaction
    assert ">4月</text>" in page  # chart labels are text, in the reader's own font
    assert page.count('font-family="') == 4


def test_xlsx_stores_numbers_as_numbers(pilots: Pilots, tmp_path: Path) -> None:
    load_everything(pilots)
    out = tmp_path / "reports"
    pilots(
        "report",
        "--fy",
        "2019",
        "--period",
        "final",
        "--plan",
        str(PLAN),
        "-o",
        str(out),
        "--format",
        "xlsx",
    )
    book = openpyxl.load_workbook(out / "report_fy2019_final.xlsx")
    assert {
        "指標",
        "進捗状況",
        "音声認識_所属別",
        "音声認識_月別",
        "RPA_業務別",
        "満足度",
        "データ品質",
    } <= set(book.sheetnames)
    rows = {r[2]: r for r in book["指標"].iter_rows(min_row=2, values_only=True) if r[2]}
    assert rows["満足度"][4] == pytest.approx(2 / 3)
    assert rows["削減率"][4] == pytest.approx(0.4)
    assert book["指標"]["E5"].number_format == "0.00%"
    tasks = list(book["RPA_業務別"].iter_rows(min_row=2, values_only=True))
    assert tasks[0][:3] == ("T01", "請求書<登録>", "会計課")  # text kept verbatim in cells
    assert tasks[0][8:11] == (pytest.approx(5.0), pytest.approx(3.0), pytest.approx(2.0))


def test_report_on_an_empty_database_shows_measuring(pilots: Pilots, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = pilots(
        "report", "--fy", "2019", "--period", "final", "--plan", str(PLAN), "-o", str(out)
    )
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    rows = indicator_rows(page)
    assert rows["利用所属数"] == ("データなし", "測定中")
    assert rows["削減率"] == ("データなし", "測定中")
    assert rows["移行システム数"] == ("5システム", "未達")  # the hand-entered value still counts
    assert "集計できるデータがまだありません（測定中）" in page
    assert "データなし" in result.output


def test_report_for_another_year_than_the_plan_is_refused(pilots: Pilots, tmp_path: Path) -> None:
    result = pilots("report", "--fy", "2020", "--period", "final", "--plan", str(PLAN), ok=False)
    assert result.exit_code == 1
    assert "エラー: --fy:" in result.stderr and "2019 年度の計画" in result.stderr


HEAD = "fiscal_year: 2019\ninitiatives:\n  - id: a\n    name: A\n    what: x\n"


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (
            HEAD + "    indicators:\n"
            "      - {name: n, level: output, target: 3, source: asr.nothing}\n",
            7,
            "知らない集計値です: asr.nothing",
        ),
        (
            HEAD + "    indicators:\n      - {name: n, level: output, target: 3, source: manual}\n",
            7,
            "value",
        ),
        (
            HEAD + "    indicators:\n      - {name: n, level: middle}\n",
            7,
            "initiatives[0].indicators[0].level",
        ),
        (
            "fiscal_year: 2019\ninitiatives:\n  - id: a\n    name: A\n",
            3,
            "initiatives[0].what: 必須です",
        ),
        (
            HEAD + "    schedule:\n      - {when: 2019-13, label: x}\n",
            7,
            "年月として読めません",
        ),
        ("fiscal_year: 2019\ninitiatives: [\n", 3, "YAMLとして読めません"),
    ],
)
def test_plan_errors_name_the_field_and_line(
    tmp_path: Path, body: str, line: int | None, message: str
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputFileError, match=re.escape(message)) as info:
        load_plan(path)
    if "必須です" in message:
        assert info.value.line is None or info.value.line <= line
    else:
        assert info.value.line == line


def test_shipped_demo_plan_loads() -> None:
    plan = load_plan(Path(__file__).parent.parent / "data" / "demo" / "plan.yaml")
    assert plan.fiscal_year == 2019
    assert [i.key for i in plan.initiatives] == ["asr", "rpa", "platform"]
    sources = {i.source for ini in plan.initiatives for i in ini.indicators if i.source}
    assert {
        "asr.departments_using",
        "asr.avg_hours_saved_per_month",
        "survey.satisfaction_rate",
        "rpa.reduced_hours",
        "rpa.reduction_rate",
        "manual",
    } <= sources


def test_milestone_states() -> None:
    from datetime import date

    july = Milestone(date(2019, 7, 1), date(2019, 7, 31), "初回利用")
    assert milestone_state(july, date(2019, 6, 30)) == "予定"
    assert milestone_state(july, date(2019, 7, 15)) == "実施中"
    assert milestone_state(july, date(2019, 7, 31)) == "完了"
    assert (
        milestone_state(Milestone(july.start, july.end, "x", done=False), date(2019, 9, 30))
        == "実施中"
    )
    assert (
        milestone_state(Milestone(july.start, july.end, "x", done=True), date(2019, 4, 1)) == "完了"
    )


def test_judgement_rule() -> None:
    rate = Indicator("満足度", "outcome", "numeric", target=0.7, source="survey.satisfaction_rate")
    final, interim = period(2019, "final"), period(2019, "interim")
    assert judge(rate, 0.70, final) == "達成"
    assert judge(rate, 0.69, final) == "未達"
    assert judge(rate, 0.69, interim) == "測定中"
    assert judge(rate, None, final) == "測定中"
    fewer = Indicator(
        "待ち時間", "outcome", "numeric", target=10, comparison="<=", source="manual", value=8
    )
    assert judge(fewer, 8, final) == "達成"
