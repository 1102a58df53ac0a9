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
from datetime import date
from pathlib import Path

import click
import openpyxl
import pytest

from pilots.calendar import period
from pilots.errors import InputFileError
from pilots.report.indicators import judge, year_over
from pilots.report.plan import Indicator, Milestone, load_plan, milestone_state, parse_plan
from tests.conftest import ROOT, Pilots

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


def sheet_columns(html_text: str) -> dict[str, list[list[str]]]:
    """取組ごとの進捗状況: initiative → its three columns, each as its lines of text."""
    section = html_text.split("<h2>3. 取組ごとの進捗状況</h2>")[1].split("</section>")[0]
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", section, re.DOTALL):
        cells = re.findall(r"<td>(.*?)</td>", row, re.DOTALL)
        if not cells:
            continue  # the header row
        columns = [
            [
                html.unescape(re.sub(r"<[^>]+>", "", line))
                for line in re.findall(r"<p[^>]*>(.*?)</p>", c)
            ]
            for c in cells
        ]
        found[columns[0][0].removeprefix("■")] = columns
    return found


def schedule_state(html_text: str, initiative: str, label: str) -> str:
    """The state the report shows for a step of an initiative's schedule (完了 …)."""
    for line in sheet_columns(html_text)[initiative][0]:
        step, _, state = line.partition("　")[2].rpartition("【")
        if step == label:
            return state.rstrip("】")
    raise AssertionError(f"{initiative}: no step {label}")


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


def _table_after(page: str, heading: str) -> list[list[str]]:
    """The cells of the first table after ``heading`` (an HTML page), row by row."""
    table = page.split(heading, 1)[1].split("</table>")[0]
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)
    ]


def test_the_report_shows_correction_sources_both_ways_and_the_draft_accuracy(
    pilots: Pilots, tmp_path: Path
) -> None:
    """The usage file's 3 corrected jobs are self-reported (audio 4.5 h, correction 8 h, saved
    10 h); one job drafted here is finished in the editor: 30 min of audio, 12 min measured →
    0.5 × 4 − 0.2 = 1.8 h saved (per audio hour: correction 0.4 h, saved 3.6 h). Its draft
    会議を始めます corrected to 会議を始めました: 2 edits of 8 characters → 認識精度 75.0%."""
    from datetime import date

    from pilots import db
    from pilots.asr.corrections import finish_correction
    from tests.conftest import drafted_job

    load_everything(pilots)
    engine = db.make_engine(pilots.db_url)
    with db.session_scope(db.session_factory(engine)) as session:
        job = drafted_job(session, ["会議を始めます"], day=date(2019, 6, 3), seconds=1800.0)
        finish_correction(
            session, job, corrected_text="会議を始めました", minutes=12, source="editor",
            max_ratio=10.0, default_rate=4.0,
        )  # fmt: skip
    engine.dispose()
    out = tmp_path / "reports"
    pilots("report", "--fy", "2019", "--period", "final", "--plan", str(PLAN), "-o", str(out))
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    assert _table_after(page, "<h3>音声認識: 修正時間の出どころ</h3>") == [
        ["出どころ", "ジョブ", "録音時間", "修正時間", "削減時間",
         "録音1時間あたりの修正時間", "録音1時間あたりの削減時間"],
        ["計測", "1", "0.5時間", "0.2時間", "1.8時間", "0.40時間", "3.60時間"],
        ["自己申告", "3", "4.5時間", "8.0時間", "10.0時間", "1.78時間", "2.22時間"],
        ["合計（削減時間の見出しの値）", "4", "", "11.8時間", ""],
    ]  # fmt: skip
    assert "両方があるため、削減時間を出どころ別にも示す" in page
    assert _table_after(page, "<h3>音声認識: 議事録案の認識精度</h3>")[1] == [
        "75.0%", "25.0%", "1", "8文字", "2文字（1・0・1）"
    ]  # fmt: skip
    assert "うち修正時間を修正エディタで計測したもの1件、自己申告3件" in page
    markdown = (out / "report_fy2019_final.md").read_text(encoding="utf-8")
    assert "| 計測 | 1 | 0.5 | 0.2 | 1.8 | 0.40 | 3.60 |" in markdown
    assert "| 自己申告 | 3 | 4.5 | 8.0 | 10.0 | 1.78 | 2.22 |" in markdown
    assert "| 75.0% | 25.0% | 1 | 8 | 2（1・0・1） |" in markdown
    book = openpyxl.load_workbook(out / "report_fy2019_final.xlsx")
    sources = list(book["音声認識_修正時間の出どころ"].iter_rows(min_row=4, values_only=True))
    assert sources[0][:2] == ("計測", 1) and sources[1][:2] == ("自己申告", 3)
    assert sources[0][4:] == (pytest.approx(1.8), pytest.approx(0.4), pytest.approx(3.6))
    assert sources[2][4] == pytest.approx(11.8)
    (accuracy,) = book["音声認識_認識精度"].iter_rows(min_row=4, values_only=True)
    assert accuracy == (0.75, 0.25, 1, 8, 2, 1, 0, 1)


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
    assert schedule_state(page, "音声認識", "運用開始") == "完了"
    assert schedule_state(page, "音声認識", "各所属で利用") == "実施中"
    assert schedule_state(page, "音声認識", "最終測定") == "未着手"


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
    out, _ = _report(pilots, tmp_path, "--format", "html")
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
    assert book["指標"]["E7"].number_format == "0.00%"
    tasks = list(book["RPA_業務別"].iter_rows(min_row=4, values_only=True))
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
PART = (
    "fiscal_year: 2019\nparts:\n  - name: 庁内のＩＴ化推進\n    initiatives:\n"
    "      - id: a\n        name: A\n        what: x\n"
)


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
        (  # a date YAML cannot make (it used to end in 予期しないエラー)
            HEAD + "    schedule:\n      - {when: 2019-02-30, label: x}\n",
            7,
            "initiatives[0].schedule[0].when: 日付として正しくありません: 2019-02-30",
        ),
        # the sheet's layout: parts, dated progress, figures
        (PART + "        shedule: []\n", 8, "parts[0].initiatives[0].shedule: 知らない項目です"),
        (
            PART + "        progress:\n          - {text: 開始}\n",
            9,
            "parts[0].initiatives[0].progress[0].date: 必須です",
        ),
        (
            PART + "        progress:\n          - {date: 2020-04, text: 開始}\n",
            9,
            "progress[0].date: 令和元年度（2019-04-01〜2020-03-31）の日付ではありません",
        ),
        (
            PART + "        progress:\n          - date: 2019-07\n            text: t\n"
            "            details:\n              - {date: 2019-02-30, text: d}\n",
            12,
            "progress[0].details[0].date: 日付として正しくありません",
        ),
        (
            PART + "        indicators:\n"
            "          - {name: n, level: output, figures: [asr.nothing]}\n",
            9,
            "parts[0].initiatives[0].indicators[0].figures[0]: 知らない集計値です: asr.nothing",
        ),
        (
            PART + "        indicators:\n"
            "          - {name: n, level: output, target: 3, source: asr.jobs,\n"
            "             figures: [asr.jobs]}\n",
            10,
            "figures（実績を示す集計値）は目標のない指標に書きます",
        ),
        (
            PART + "        indicators:\n          - {name: n, level: output, progres: []}\n",
            9,
            "indicators[0].progres: 知らない項目です",
        ),
        (PART + "  - {name: 二つ目}\n", 8, "parts[1].initiatives: 取組を一つ以上書いてください"),
        (PART + "initiatives: []\n", 8, "initiatives: parts と一緒には書けません"),
        (
            PART + "      - {id: a, name: B, what: y}\n",
            8,
            "parts[0].initiatives[1].id: 「a」が重複しています",
        ),
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


SHEET = {  # the prefecture's sheet (../shared/seed/): its parts and initiatives, in order
    "庁内のＩＴ化推進": [
        "音声認識技術の導入",
        "RPAの試行導入",
        "共通プラットフォームの利用拡大",
        "行政サービスに係る情報システムの検討",
    ],
    "市町村のＩＴ化支援": [
        "府内市町村におけるサービスの効率化",
        "自治体クラウドの導入支援等",
        "LGWAN府域ネットワークの更新の支援",
    ],
}


def test_shipped_demo_plan_is_the_whole_sheet() -> None:
    from pilots.demo import demo_plan_text
    from pilots.report.plan import parse_plan

    plan = parse_plan(demo_plan_text(), "demo_plan.yaml")
    assert plan.fiscal_year == 2019
    assert plan.theme == "【テーマ１】行政のＩＴ化の推進"
    assert plan.direction.startswith("◎業務効率化や運用コスト削減を目指して")
    assert plan.goals == [
        "庁内のＩＴ化推進による業務効率化・コスト削減",
        "市町村のＩＴ化支援による府民が便利さを実感できるような取組みの促進",
    ]
    assert {p.name: [i.name for i in p.initiatives] for p in plan.parts} == SHEET
    for initiative in plan.initiatives:  # the three columns, each filled
        assert initiative.what and initiative.milestones and initiative.progress, initiative.name
        assert {i.level for i in initiative.indicators} >= {"output"}, initiative.name
    sources = {i.source for ini in plan.initiatives for i in ini.indicators if i.source}
    sources |= {f for ini in plan.initiatives for i in ini.indicators for f in i.figures}
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
    assert milestone_state(july, date(2019, 6, 30)) == "未着手"
    assert milestone_state(july, date(2019, 7, 15)) == "実施中"
    assert milestone_state(july, date(2019, 7, 31)) == "完了"
    assert (
        milestone_state(Milestone(july.start, july.end, "x", done=False), date(2019, 9, 30))
        == "実施中"
    )
    assert (
        milestone_state(Milestone(july.start, july.end, "x", done=True), date(2019, 7, 1)) == "完了"
    )


def test_judgement_rule() -> None:
    rate = Indicator("満足度", "outcome", "numeric", target=0.7, source="survey.satisfaction_rate")
    from datetime import date

    final, interim = period(2019, "final"), period(2019, "interim")
    later = date(2020, 4, 1)
    assert year_over(final, later) and not year_over(interim, later)
    assert not year_over(final, date(2020, 3, 30))  # a projection: the year is not over
    assert judge(rate, 0.70, year_is_over=True) == "達成"
    assert judge(rate, 0.69, year_is_over=True) == "未達"
    assert judge(rate, 0.69, year_is_over=False) == "測定中"
    assert judge(rate, None, year_is_over=True) == "測定中"
    fewer = Indicator(
        "待ち時間", "outcome", "numeric", target=10, comparison="<=", source="manual", value=8
    )
    assert judge(fewer, 8, year_is_over=True) == "達成"


# --- issue 10: what an evaluator hit in the report ------------------------------------


def _report(pilots: Pilots, tmp_path: Path, *args: str, ok: bool = True) -> tuple[Path, str]:
    """Write the FY2019 final report (all formats); the output folder and the CLI output."""
    out = tmp_path / "reports"
    result = pilots(
        "report",
        "--fy",
        "2019",
        "--period",
        "final",
        "--plan",
        str(PLAN),
        "-o",
        str(out),
        *args,
        ok=ok,
    )
    return out, result.output + result.stderr


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_xlsx_writes_user_text_as_text_never_as_a_formula(pilots: Pilots, tmp_path: Path) -> None:
    """A department, a comment and a task name that start with = stay text in every sheet."""
    evil_dept, evil_comment = "=1+1課", "=cmd|'/c calc'!A0"
    evil_task = '=HYPERLINK("http://example.com/","開く")'
    pilots(
        "asr",
        "import",
        str(
            _write(
                tmp_path / "u.csv",
                f"所属,会議日,録音時間(分),修正時間(分)\n{evil_dept},2019/05/10,60,30\n",
            )
        ),
    )
    pilots(
        "survey",
        "import",
        str(_write(tmp_path / "s.csv", f"所属,満足度,ご意見\n{evil_dept},満足,{evil_comment}\n")),
        "--survey",
        "調査",
    )
    catalog = (
        (DATA / "catalog.csv")
        .read_text(encoding="utf-8")
        .replace("請求書<登録>", f'"{evil_task.replace(chr(34), chr(34) * 2)}"')
    )
    pilots("rpa", "catalog", str(_write(tmp_path / "c.csv", catalog)))
    pilots("rpa", "ingest", str(DATA / "runs.csv"))
    out, _ = _report(pilots, tmp_path, "--format", "xlsx")
    book = openpyxl.load_workbook(out / "report_fy2019_final.xlsx")
    formulas = [
        f"{ws.title}!{cell.coordinate}"
        for ws in book.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    texts = {
        ws.title: {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
        for ws in book.worksheets
    }
    assert evil_dept in texts["音声認識_所属別"] and evil_dept in texts["満足度_所属別"]
    assert evil_comment in texts["自由記述"] and evil_task in texts["RPA_業務別"]


def test_no_csv_export_exists_to_check() -> None:
    """Issue 10 asks to check `--format csv` exports too: no command writes CSV."""
    from pilots.cli import cli

    def formats(command: object) -> set[str]:
        found: set[str] = set()
        for param in getattr(command, "params", []):
            if isinstance(param.type, click.Choice):
                found |= {str(c) for c in param.type.choices}
        for sub in getattr(command, "commands", {}).values():
            found |= formats(sub)
        return found

    assert "csv" not in formats(cli)


def test_future_as_of_defaults_to_today_and_a_later_date_needs_projection(
    pilots: Pilots, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The FY2019 final report run on 2019-11-28: as of that day, not of March 31."""
    from datetime import date

    monkeypatch.setattr("pilots.calendar.today", lambda: date(2019, 11, 28))
    load_everything(pilots)
    out, output = _report(pilots, tmp_path, "--format", "html")
    page = (out / "report_fy2019_final_asof2019-11-28.html").read_text(encoding="utf-8")
    assert "令和元年11月28日時点" in page and "経過月数 8か月" in page
    rows = indicator_rows(page)
    assert rows["月あたり削減時間"] == ("0.9時間/月", "測定中")  # 7.0 h / 8 months
    assert rows["満足度"] == ("66.67%", "測定中")  # the year is not over: not 未達
    assert rows["移行システム数"] == ("データなし", "測定中")  # entered for 2020-01-31
    assert schedule_state(page, "音声認識", "最終測定") == "未着手"
    assert schedule_state(page, "音声認識", "各所属で利用") == "実施中"
    assert "見込み" not in page.split("<h2>1. 概要</h2>")[0]

    refused = pilots(
        "report",
        "--fy",
        "2019",
        "--period",
        "final",
        "--plan",
        str(PLAN),
        "--as-of",
        "2020-03-31",
        "-o",
        str(out),
        ok=False,
    )
    assert refused.exit_code == 1
    assert "エラー: --as-of:" in refused.stderr and "--projection" in refused.stderr
    projected, output = _report(pilots, tmp_path, "--projection", "--format", "html")
    page = (projected / "report_fy2019_final.html").read_text(encoding="utf-8")
    cover = page.split("<h2>1. 概要</h2>")[0]
    assert "見込み" in cover and "令和元年11月28日" in cover
    assert "見込み" in output


def test_milestone_that_starts_after_the_as_of_date_is_not_started() -> None:
    from datetime import date

    march = Milestone(date(2020, 3, 1), date(2020, 3, 31), "最終測定", done=True)
    assert milestone_state(march, date(2019, 11, 28)) == "未着手"
    assert milestone_state(march, date(2020, 3, 1)) == "完了"


def test_survey_of_another_year_does_not_count(pilots: Pilots, tmp_path: Path) -> None:
    """A 2017 survey is not FY2019's satisfaction; the plan may still name it."""
    old = _write(
        tmp_path / "old.csv",
        "タイムスタンプ,所属,満足度\n2017/06/01 10:00:00,総務課,大変満足\n"
        "2017/06/02 10:00:00,人事課,満足\n",
    )
    pilots("survey", "import", str(old), "--survey", "平成29年度調査")
    out, _ = _report(pilots, tmp_path, "--format", "html")
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    assert indicator_rows(page)["満足度"] == ("データなし", "測定中")
    named = _write(
        tmp_path / "plan.yaml",
        PLAN.read_text(encoding="utf-8").replace(
            "source: survey.satisfaction_rate}",
            "source: survey.satisfaction_rate, survey: 平成29年度調査}",
        ),
    )
    out = tmp_path / "named"
    pilots("report", "--fy", "2019", "--period", "final", "--plan", str(named), "-o", str(out))
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    assert indicator_rows(page)["満足度"] == ("100%", "達成")


def test_sentences_judge_against_the_plans_targets(pilots: Pilots, tmp_path: Path) -> None:
    """Table and sentences agree: both use the plan's targets, never the settings'."""
    load_everything(pilots)
    plan = PLAN.read_text(encoding="utf-8")
    plan = plan.replace("target: 70%, source: survey", "target: 60%, source: survey")
    plan = plan.replace(
        "target: 0.8, source: rpa.reduction_rate", "target: 30%, source: rpa.reduction_rate"
    )
    path = _write(tmp_path / "plan.yaml", plan)
    out = tmp_path / "out"
    pilots("report", "--fy", "2019", "--period", "final", "--plan", str(path), "-o", str(out))
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    rows = indicator_rows(page)
    assert rows["満足度"] == ("66.67%", "達成") and rows["削減率"] == ("40%", "達成")
    assert "目標（60%以上）を達成した" in page and "70%" not in page
    assert "削減率は約40%（目標30%）で目標を達成した" in page and "80%" not in page


def test_several_surveys_are_named_not_silently_dropped(pilots: Pilots, tmp_path: Path) -> None:
    load_everything(pilots)
    pilots("survey", "import", str(DATA / "survey.csv"), "--survey", "操作研修アンケート")
    out, output = _report(pilots, tmp_path, "--format", "html")
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    assert indicator_rows(page)["満足度"] == ("データなし", "測定中")
    assert "満足度調査が2件あります" in page
    assert "満足度調査" in page and "操作研修アンケート" in page
    assert "満足度調査が2件あります" in output  # the CLI says so too
    chosen, _ = _report(pilots, tmp_path, "--survey", "満足度調査", "--format", "html")
    page = (chosen / "report_fy2019_final.html").read_text(encoding="utf-8")
    assert indicator_rows(page)["満足度"] == ("66.67%", "未達")
    pilots("survey", "delete", "操作研修アンケート", "--yes")
    again, _ = _report(pilots, tmp_path, "--format", "html")
    page = (again / "report_fy2019_final.html").read_text(encoding="utf-8")
    assert indicator_rows(page)["満足度"] == ("66.67%", "未達")


def test_exclusions_show_without_catalog_and_without_jobs(pilots: Pilots, tmp_path: Path) -> None:
    """No catalog yet and no job in the period: what was left out is still listed."""
    bad_usage = _write(
        tmp_path / "usage.csv", "所属,会議日,録音時間(分),修正時間(分)\n総務課,2019/02/30,60,10\n"
    )
    pilots("asr", "import", str(bad_usage))
    pilots("rpa", "ingest", str(DATA / "runs.csv"))
    pilots("rpa", "ingest", str(DATA.parent / "rpa" / "generic_runs.csv"))
    out, _ = _report(pilots, tmp_path)
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    quality = page.split("7. データの品質")[1]
    assert "業務台帳にないシナリオの実行" in quality and "不明シナリオ（1回）" in quality
    assert "usage.csv 2行目" in quality  # the rejected usage row
    assert "generic_runs.csv 5行目" in quality  # the rejected run-log row, listed
    assert str(tmp_path) not in page and str(DATA) not in page  # file names, not full paths
    book = openpyxl.load_workbook(out / "report_fy2019_final.xlsx")
    details = [r[4] for r in book["データ品質"].iter_rows(values_only=True)]
    assert any(str(d).startswith("generic_runs.csv 5行目") for d in details)


def test_data_quality_lists_each_exclusion_with_its_records(pilots: Pilots, tmp_path: Path) -> None:
    """Every pilot's exclusions reach the data-quality section by their keys, each with the
    records behind it; the rare ones only when they happen, the others zeros included."""
    pilots("asr", "import", str(DATA / "usage.csv"))
    late = _write(
        tmp_path / "late.csv", "所属,会議日,録音時間(分),修正時間(分)\n総務課,2019/13/01,60,\n"
    )
    pilots("asr", "import", str(late))
    survey = _write(
        tmp_path / "answers.csv", "所属,満足度\n総務課,大変満足\n財政課,\n人事課,まあまあ\n"
    )
    pilots("survey", "import", str(survey), "--survey", "満足度調査")
    pilots("rpa", "catalog", str(DATA / "catalog.csv"))
    pilots("rpa", "ingest", str(DATA / "runs.csv"))
    out, _ = _report(pilots, tmp_path, "--format", "xlsx")
    book = openpyxl.load_workbook(out / "report_fy2019_final.xlsx")
    rows = list(book["データ品質"].iter_rows(min_row=4, values_only=True))
    items = {(r[0], r[1]): (r[2], r[4]) for r in rows if r[2] is not None}
    assert items[("音声認識", "修正時間が未報告のジョブ")] == (
        1,
        "#3 <b>人事課</b> 令和元年11月11日 録音30分",
    )
    count, detail = items[("音声認識", "取り込めなかった利用報告の行")]
    assert count == 1 and str(detail).startswith("late.csv 2行目: ")
    assert items[("RPA", "業務台帳にないシナリオの実行")] == (1, "不明シナリオ（1回）")
    assert items[("RPA", "日時のない実行")][0] == 0
    assert items[("満足度調査", "無回答")] == (1, "3行目 財政課: （空欄）")
    assert items[("満足度調査", "5段階にない回答")] == (1, "4行目 人事課: まあまあ")
    for rare in (
        ("音声認識", "音声が検出されなかった録音"),
        ("音声認識", "所属不明のジョブ"),
        ("満足度調査", "期間外に完了した回答"),
    ):
        assert rare not in items


def test_every_label_is_japanese(pilots: Pilots, tmp_path: Path) -> None:
    load_everything(pilots)
    cancelled = _write(
        tmp_path / "other.csv",
        "scenario,started_at,ended_at,status\n請求書登録,2019-09-01 09:00:00,,other\n",
    )
    pilots("rpa", "ingest", str(cancelled))
    out, _ = _report(pilots, tmp_path)
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    body = re.sub(r"<style>.*?</style>|<svg.*?</svg>|<[^>]+>", " ", page, flags=re.DOTALL)
    keys = re.findall(r"\b[a-z]+(?:[._][a-z]+)+\b", body)
    assert keys == []
    assert "pilots rpa" not in body
    assert "成功・失敗以外の実行" in body and "状態「other」: 1回" in body
    md = (out / "report_fy2019_final.md").read_text(encoding="utf-8")
    assert re.findall(r"\b[a-z]+(?:[._\\]+[a-z]+)+\b", md) == []
    book = openpyxl.load_workbook(out / "report_fy2019_final.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row]
    assert [c for c in cells if isinstance(c, str) and re.search(r"\b[a-z]+[._][a-z]+\b", c)] == []


def test_xlsx_prints_on_a4_with_titles_and_repeated_headers(pilots: Pilots, tmp_path: Path) -> None:
    """Print settings an office relies on (checked with LibreOffice too: see the commit)."""
    load_everything(pilots)
    out, _ = _report(pilots, tmp_path, "--format", "xlsx")
    book = openpyxl.load_workbook(out / "report_fy2019_final.xlsx")
    for ws in book.worksheets:
        assert str(ws["A1"].value).startswith("令和元年度 テスト用の効果測定報告（最終）"), ws.title
        assert ws.print_title_rows and ws.print_title_rows.startswith("$3:$3"), ws.title
        assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), ws.title
    assert book["指標"].page_setup.orientation == "landscape"
    header = [c.value for c in book["指標"][3]]
    assert header[:5] == ["取組", "区分", "指標", "目標", "実績"]
    rows = {r[2]: r for r in book["指標"].iter_rows(min_row=4, values_only=True) if r[2]}
    assert rows["利用所属数"][6] == "集計値（音声認識: 期間内に利用した所属の数）"
    cells = {r[2].value: r for r in book["指標"].iter_rows(min_row=4) if r[2].value}
    assert cells["満足度"][4].number_format == "0.00%"
    assert "時間" in cells["削減時間"][4].number_format
    tasks = book["RPA_業務別"]
    assert "時間" in tasks.cell(4, 9).number_format and "件" in tasks.cell(4, 8).number_format


def test_report_works_on_a_fresh_install_outside_the_repository(
    pilots: Pilots, tmp_path: Path
) -> None:
    """No data/demo/plan.yaml under the current folder: the plan comes from the database."""
    load_everything(pilots)
    missing = pilots("report", "--fy", "2019", "--period", "final", ok=False)
    assert missing.exit_code == 1 and "pilots plan import" in missing.stderr
    assert "令和元年度の計画" in missing.stderr
    assert "版 1" in pilots("plan", "import", str(PLAN)).output
    out = tmp_path / "out"
    pilots("report", "--fy", "2019", "--period", "final", "-o", str(out), "--format", "html")
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    assert indicator_rows(page)["利用所属数"] == ("3所属", "達成")


def test_plan_versions_import_list_export(pilots: Pilots, tmp_path: Path) -> None:
    """The plan is kept in the database as the text imported, one version per change."""
    import json

    first = pilots("plan", "import", str(PLAN)).output
    assert "令和元年度の計画「テスト用の効果測定報告」版 1" in first
    same = pilots("plan", "import", str(PLAN)).output
    assert "最新の版 1 と同じ内容です（変更なし）" in same
    changed = _write(
        tmp_path / "改訂.yaml",
        PLAN.read_text(encoding="utf-8").replace("target: 3, unit: 所属", "target: 4, unit: 所属"),
    )
    assert "版 2" in pilots("plan", "import", str(changed)).output
    listed = json.loads(pilots("plan", "list", "--json").output)
    assert [(v["fiscal_year"], v["version"], v["file_name"]) for v in listed] == [
        (2019, 2, "改訂.yaml"),
        (2019, 1, "plan.yaml"),
    ]
    assert "改訂.yaml" in pilots("plan", "list").output
    assert pilots("plan", "export").output == changed.read_text(encoding="utf-8")
    out = tmp_path / "戻し.yaml"
    pilots("plan", "export", "--fy", "2019", "--version", "1", "-o", str(out))
    assert out.read_bytes() == PLAN.read_bytes()
    load_everything(pilots)
    report_dir = tmp_path / "r"
    result = pilots("report", "--fy", "2019", "--period", "final", "-o", str(report_dir))
    assert "利用所属数: 3所属（目標 ≥ 4所属）未達" in result.output  # the latest version
    missing = pilots("plan", "export", "--fy", "2020", ok=False)
    assert missing.exit_code == 1 and "令和2年度の計画が登録されていません" in missing.stderr
    bad = _write(tmp_path / "bad.yaml", "fiscal_year: 2019\ninitiatives: [\n")
    refused = pilots("plan", "import", str(bad), ok=False)
    assert (
        refused.stderr.startswith("エラー: ")
        and "bad.yaml 3行目: YAMLとして読めません" in refused.stderr
    )
    assert len(json.loads(pilots("plan", "list", "--json").output)) == 2  # nothing stored


def test_plan_names_a_survey_only_for_a_survey_figure(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "plan.yaml",
        HEAD + "    indicators:\n"
        "      - {name: n, level: output, target: 3, source: asr.jobs, survey: x}\n",
    )
    with pytest.raises(
        InputFileError, match=r"survey（調査名）は source か figures が survey\."
    ) as info:
        load_plan(path)
    assert info.value.line == 7


def test_an_office_replaces_the_report_templates(
    pilots: Pilots, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``<PILOTS_TEMPLATE_DIR>/report/`` replaces the shipped report templates (issue 11)."""
    load_everything(pilots)
    office = tmp_path / "office"
    (office / "report").mkdir(parents=True)
    (office / "report" / "report.md.j2").write_text(
        "# 県庁様式 {{ fiscal_year_label }} {{ r.plan.title|md }}\n", encoding="utf-8-sig"
    )
    monkeypatch.setenv("PILOTS_TEMPLATE_DIR", str(office))
    out = tmp_path / "reports"
    pilots("report", "--fy", "2019", "--period", "final", "--plan", str(PLAN), "-o", str(out))
    md = (out / "report_fy2019_final.md").read_text(encoding="utf-8")
    assert md == "# 県庁様式 令和元年度 テスト用の効果測定報告\n"
    # The HTML template the office did not replace is still the shipped one.
    assert "<svg" in (out / "report_fy2019_final.html").read_text(encoding="utf-8")


# --- issue 15: the whole Theme 1 sheet ---------------------------------------------------------


@pytest.fixture(scope="module")
def demo_year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo year without the speech model (``pilots demo --no-transcribe``): its
    database and its interim and final reports, from the shipped plan."""
    from click.testing import CliRunner

    from pilots.cli import cli

    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        cli,
        ["demo", "--out", str(out), "--data", str(ROOT / "data" / "demo"), "--no-transcribe"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return out


def _shown_as_of(demo_year: Path, kind: str, as_of: date) -> None:
    """Every dated entry of the plan is in the report exactly when it was done by ``as_of``."""
    from pilots.demo import demo_plan_text

    page = (demo_year / f"report_fy2019_{kind}.html").read_text(encoding="utf-8")
    columns = sheet_columns(page)
    shown = 0
    for initiative in parse_plan(demo_plan_text(), "demo_plan.yaml").initiatives:
        progress = columns[initiative.name][2]
        for entry in initiative.progress:
            assert (f"○{entry.text}" in progress) == (entry.day <= as_of), entry.text
            for detail in entry.details:
                done = entry.day <= as_of and detail.day <= as_of
                assert (detail.text in progress) == done, detail.text
                shown += done
            shown += entry.day <= as_of
        for indicator in initiative.indicators:
            for note in indicator.progress:
                assert (f"⇒{note.text}" in progress) == (note.day <= as_of), note.text
                shown += note.day <= as_of
    assert shown  # the test saw entries shown


def test_demo_interim_report_shows_the_first_half_only(demo_year: Path) -> None:
    _shown_as_of(demo_year, "interim", date(2019, 9, 30))
    page = (demo_year / "report_fy2019_interim.html").read_text(encoding="utf-8")
    columns = sheet_columns(page)
    asr = columns["音声認識技術の導入"][2]
    assert "○全庁で本格運用を開始（４月）" in asr and "○中間の効果測定を実施（９月）" in asr
    assert "○最終の効果測定を実施（３月）" not in asr
    assert any(line.startswith("⇒令和元年9月末までに101所属で利用され") for line in asr)
    rpa = columns["RPAの試行導入"][2]
    assert "○操作説明、実業務での利用開始（7月～）" in rpa
    assert "○中間評価を実施（9～10月）" not in rpa  # done in October
    assert not any("導入拡大に向けた" in line for line in rpa)  # written in February
    cloud = columns["自治体クラウドの導入支援等"][2]
    assert "・RFI実施：令和元年５月から６月（寝屋川市、交野市を含む５市で実施）" in cloud
    assert "・RFI実施（２回目）：令和元年11月から12月" not in cloud
    assert not any(line.startswith("○") for line in columns["共通プラットフォームの利用拡大"][2])
    # the schedule on September 30
    assert schedule_state(page, "音声認識技術の導入", "効果測定（中間）") == "完了"
    assert schedule_state(page, "音声認識技術の導入", "効果測定") == "未着手"
    assert (
        schedule_state(page, "LGWAN府域ネットワークの更新の支援", "更新、移行、稼働確認")
        == "実施中"
    )
    assert schedule_state(page, "LGWAN府域ネットワークの更新の支援", "運用開始") == "未着手"
    assert schedule_state(
        page, "行政サービスに係る情報システムの検討", "ICT利活用の課題検討・改善"
    ) == ("実施中")
    markdown = (demo_year / "report_fy2019_interim.md").read_text(encoding="utf-8")
    assert "- 全庁で本格運用を開始（４月）" in markdown
    assert "最終の効果測定を実施" not in markdown


def test_demo_final_report_is_the_whole_sheet(demo_year: Path) -> None:
    _shown_as_of(demo_year, "final", date(2020, 3, 31))
    page = (demo_year / "report_fy2019_final.html").read_text(encoding="utf-8")
    cover = page.split("<h2>1. 概要</h2>")[0]
    assert "【テーマ１】行政のＩＴ化の推進" in cover
    assert "<h2>めざす方向</h2><p>◎業務効率化や運用コスト削減を目指して" in cover
    assert "<li>市町村のＩＴ化支援による府民が便利さを実感できるような取組みの促進</li>" in cover
    section = page.split("<h2>3. 取組ごとの進捗状況</h2>")[1].split("</section>")[0]
    assert re.findall(r"<h3>(.*?)</h3>", section) == list(SHEET)
    columns = sheet_columns(page)
    assert list(columns) == [name for names in SHEET.values() for name in names]
    for name, (what, target, progress) in columns.items():
        assert what[0] == progress[0] == f"■{name}"
        assert "（スケジュール）" in what and "◇活動指標（アウトプット）" in target, name
        assert any(line.startswith("○") for line in progress), name
    asr = columns["音声認識技術の導入"]
    assert "H31.4　本格運用開始【完了】" in asr[0] and "R2.3　効果測定【完了】" in asr[0]
    assert asr[1][-2:] == ["（数値目標）", "・利用所属における満足度：70%以上"]
    assert "・職員の業務効率の向上" in asr[2]
    assert any(
        line.startswith("⇒令和元年度に116所属で利用され、ひと月あたり平均62時間の業務削減")
        for line in asr[2]
    )
    assert "・利用所属における満足度：83.87%（目標 70%以上）【達成】" in asr[2]
    rpa = columns["RPAの試行導入"][2]
    assert any(
        line.startswith("⇒RPAの試行により約1,800時間の作業時間を削減し、削減率は約84%")
        for line in rpa
    )
    assert "・業務削減時間：84.10%（目標 80%以上）【達成】" in rpa
    platform = columns["共通プラットフォームの利用拡大"]
    assert "・共通プラットフォームへの円滑な移行：30システム以上" in platform[1]
    assert (
        "・共通プラットフォームへの円滑な移行：30システム（目標 30システム以上）【達成】"
        in platform[2]
    )
    assert (
        "随時　自治体クラウド検討会を開催（予定）【完了】"
        in columns["自治体クラウドの導入支援等"][0]
    )
    # the manual figure keeps its date and source
    assert indicator_rows(page)["共通プラットフォームへの円滑な移行"] == ("30システム", "達成")
    assert "30システム（手入力（令和2年3月31日時点）" in page
    markdown = (demo_year / "report_fy2019_final.md").read_text(encoding="utf-8")
    assert "**めざす方向**: ◎業務効率化" in markdown
    assert (
        "### 市町村のＩＴ化支援" in markdown
        and "#### ■LGWAN府域ネットワークの更新の支援" in markdown
    )
    assert "**進捗状況（R2年3月末時点）**" in markdown
    assert "- 職員の業務効率の向上\n    - ⇒令和元年度に116所属で利用され" in markdown
    book = openpyxl.load_workbook(demo_year / "report_fy2019_final.xlsx")
    rows = [r[:3] for r in book["進捗状況"].iter_rows(min_row=4, values_only=True)]
    assert [r[0] for r in rows if r[1] is None] == list(SHEET)  # the parts, as headings
    initiatives = [r for r in rows if r[1] is not None]
    assert [str(r[0]).split("\n")[0] for r in initiatives] == [f"■{n}" for n in columns]
    assert "・利用所属における満足度：83.87%（目標 70%以上）【達成】" in str(initiatives[0][2])
    assert book["進捗状況"]["A2"].value.startswith("【テーマ１】行政のＩＴ化の推進\nめざす方向: ◎")


def test_register_figures_are_computed_from_the_register_and_the_choice(demo_year: Path) -> None:
    """The sheet's 実運用上での課題の抽出と解決 and 追加適用候補となる業務の選定 come from the
    demo's issue register and its choice of next year's tasks (February 20), as of each
    report's date: the interim report (September 30) before the choice, the final after it."""
    final = (demo_year / "report_fy2019_final.html").read_text(encoding="utf-8")
    rows = indicator_rows(final)
    assert rows["実運用上での課題の抽出と解決"] == ("5件を抽出、4件を解決", "")
    assert rows["追加適用候補となる業務の選定"] == ("3所属3業務", "")
    rpa = sheet_columns(final)["RPAの試行導入"][2]
    assert "⇒令和元年度に実運用上の課題を5件抽出し、うち4件を解決した（課題管理表による）。" in rpa
    assert "⇒令和2年度の適用候補として3所属3業務を選定した。" in rpa
    interim = (demo_year / "report_fy2019_interim.html").read_text(encoding="utf-8")
    rows = indicator_rows(interim)
    assert rows["実運用上での課題の抽出と解決"] == ("3件を抽出、2件を解決", "")
    assert rows["追加適用候補となる業務の選定"] == ("未選定", "")
    rpa = sheet_columns(interim)["RPAの試行導入"][2]
    assert (
        "⇒令和元年9月末までに実運用上の課題を3件抽出し、うち2件を解決した（課題管理表による）。"
        in rpa
    )
    assert "⇒令和2年度の適用候補は令和元年9月末時点で未選定である。" in rpa
    markdown = (demo_year / "report_fy2019_final.md").read_text(encoding="utf-8")
    assert "| 実運用上での課題の抽出と解決 |  | 5件を抽出、4件を解決 |  |" in markdown


def test_a_plan_in_the_first_layout_still_makes_the_report(demo_year: Path, tmp_path: Path) -> None:
    """Today's layout (``initiatives`` at the top, no parts) reads as one part without a name,
    from a file and as a stored version alike; an unknown field in it is let pass, as ever."""
    pilots = Pilots(f"sqlite:///{demo_year / 'demo.db'}", tmp_path)
    first = DATA / "plan_first_layout.yaml"
    text = first.read_text(encoding="utf-8").replace("title:", "memo: 旧様式\ntitle:", 1)
    plan = _write(tmp_path / "旧様式.yaml", text)
    assert "版 2" in pilots("plan", "import", str(plan)).output
    out = tmp_path / "out"
    pilots("report", "--fy", "2019", "--period", "final", "-o", str(out), "--format", "html")
    page = (out / "report_fy2019_final.html").read_text(encoding="utf-8")
    rows = indicator_rows(page)
    assert rows["利用所属数"] == ("116所属", "達成")
    assert rows["移行したシステム数"] == ("30システム", "達成")
    assert rows["運用上の課題の整理"] == ("例外処理・端末管理の課題を整理", "")
    section = page.split("<h2>3. 取組ごとの進捗状況</h2>")[1].split("</section>")[0]
    assert "<h3>" not in section  # one part, without a name
    assert list(sheet_columns(page)) == [
        "音声認識技術の導入",
        "RPAの試行導入",
        "共通プラットフォームへの移行",
    ]
    assert "めざす方向" not in page
    # The same unknown field in the sheet's layout is an error, with its line.
    with pytest.raises(InputFileError, match=r"plan\.memo: 知らない項目です") as info:
        parse_plan(PART.replace("parts:", "memo: x\nparts:"), "p.yaml")
    assert info.value.line == 2


def test_the_readme_plan_example_loads(tmp_path: Path) -> None:
    """The annotated plan in the README is a plan pilots reads."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\nfiscal_year: 2019\n", 1)[1].split("```\n", 1)[0]
    plan = parse_plan("fiscal_year: 2019\n" + example, "README.md")
    assert [p.name for p in plan.parts] == list(SHEET)
    assert plan.initiatives[0].indicators[1].figures == (
        "asr.departments_using",
        "asr.avg_hours_saved_per_month",
    )
