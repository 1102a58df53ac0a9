"""The report's RPA operations: the indicators computed from the register and the choice,
and the RPA section listing the top issues with their state and effect, and next year's tasks.

The run log of tests/data/report/ has one failure of T01 (2019-08-01, 20 cases:
(30 + 20 × 6) / 60 = 2.5 hours lost) among three runs of T01.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
from sqlalchemy.orm import Session

from pilots.calendar import period
from pilots.report.build import Report, build_report
from pilots.report.plan import load_plan
from pilots.report.writers import render_html, render_markdown, write_report
from pilots.rpa.candidates import rank_candidates
from pilots.rpa.catalog import import_catalog
from pilots.rpa.ingest import ingest_file
from pilots.rpa.register import IssueFields, add_issue
from pilots.rpa.selection import select_candidates

DATA = Path(__file__).parent / "data" / "report"
PLAN = """\
fiscal_year: 2019
title: テスト用の効果測定報告
parts:
  - name: 庁内のＩＴ化推進
    initiatives:
      - id: rpa
        name: RPAの試行導入
        what: 定型業務を自動化する
        indicators:
          - {name: 実運用上での課題の抽出と解決, level: output,
             figures: [rpa.issues_extracted, rpa.issues_resolved]}
          - {name: 解決した課題, level: output, target: 1, source: rpa.issues_resolved}
          - {name: 追加適用候補となる業務の選定, level: output, target: 2,
             source: rpa.candidates_selected}
          - {name: 選定した業務, level: output, figures: [rpa.candidates_selected]}
"""


def _load(session: Session, tmp_path: Path) -> None:
    import_catalog(session, DATA / "catalog.csv")
    survey = tmp_path / "業務量調査.csv"
    survey.write_text(
        "業務ID,業務名,所属,年間件数,1件あたり時間(分)\nC1,研修申込の集計,人事課,600,10\n",
        encoding="utf-8",
    )
    rank_candidates(survey, session=session, keep=True)
    ingest_file(session, DATA / "runs.csv")
    add_issue(
        session,
        IssueFields(
            title="<script>alert(1)</script>帳票の画面待ち",
            cause="=cmd|' /C calc'!A0",
            action="待機時間を延ばした",
            state="解決",
            found_on=date(2019, 8, 1),
            resolved_on=date(2019, 9, 1),
            task_id="T01",
        ),
    )
    add_issue(session, IssueFields(title="端末の更新", found_on=date(2019, 11, 1)))
    select_candidates(
        session, 2019, ["T01", "C1"], chosen_on=date(2020, 2, 20), chosen_by="RPA推進担当"
    )


def _report(session: Session, tmp_path: Path, kind: str) -> Report:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    return build_report(
        session,
        load_plan(plan),
        period(2019, kind),
        default_baseline_rate=4.0,
        generated=date(2020, 5, 1),
    )


def test_the_indicators_come_from_the_register_and_the_choice(
    session: Session, tmp_path: Path
) -> None:
    _load(session, tmp_path)
    final = {i.name: i for i in _report(session, tmp_path, "final").indicators}
    issues = final["実運用上での課題の抽出と解決"]
    # Without a target: the figures as the sheet words them, not judged.
    assert (issues.actual_text, issues.status, issues.target) == ("2件を抽出、1件を解決", "", "")
    assert [f.value for f in issues.figures] == [2.0, 1.0]
    assert "課題管理表" in issues.source
    resolved = final["解決した課題"]
    assert (resolved.actual, resolved.actual_text, resolved.status) == (1.0, "1件を解決", "達成")
    chosen = final["追加適用候補となる業務の選定"]
    assert (chosen.actual, chosen.actual_text, chosen.status) == (2.0, "2所属2業務", "達成")
    assert final["選定した業務"].actual_text == "2所属2業務"
    # As of September 30: one issue found and resolved, no task chosen yet (February).
    interim = {i.name: i for i in _report(session, tmp_path, "interim").indicators}
    assert interim["実運用上での課題の抽出と解決"].actual_text == "1件を抽出、1件を解決"
    assert interim["追加適用候補となる業務の選定"].actual_text == "未選定"
    assert interim["追加適用候補となる業務の選定"].status == "測定中"
    assert interim["選定した業務"].actual_text == "未選定"


def test_the_rpa_section_lists_issues_with_state_and_effect_and_the_chosen_tasks(
    session: Session, tmp_path: Path
) -> None:
    _load(session, tmp_path)
    report = _report(session, tmp_path, "final")
    ops = report.rpa_operations
    assert ops is not None
    first = ops.issues[0]
    assert (first.state, first.failures, first.hours_lost) == ("解決", 1, 2.5)
    # T01 ran once before September 1 (and failed), twice after it (without failing).
    assert first.effect == "止まった（失敗率 50.0%（1/2回） → 0.0%（0/1回））"
    assert [g.explained_by for g in ops.groups] == ["No.1"]
    assert [(c.task_id, c.chosen) for c in ops.chosen] == [
        ("T01", "R2.2.20 RPA推進担当"),
        ("C1", "R2.2.20 RPA推進担当"),
    ]
    page = render_html(report, [])
    assert "RPA: 運用上の課題（課題管理表）" in page
    assert "2件を抽出、1件を解決" in page and "止まった（失敗率" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;帳票の画面待ち" in page
    assert "<script>alert" not in page
    assert "RPA: 令和2年度の適用候補（2所属2業務）" in page
    markdown = render_markdown(report)
    assert "### RPA: 運用上の課題（課題管理表）" in markdown
    assert "| C1 |" in markdown and "止まった" in markdown
    (written,) = write_report(report, tmp_path / "out", ["xlsx"])
    book = openpyxl.load_workbook(written)
    issues = book["RPA_課題"]
    (cause,) = [c for row in issues.iter_rows() for c in row if c.value == "=cmd|' /C calc'!A0"]
    assert cause.data_type == "s"  # the text, never a formula
    chosen = [c.value for row in book["RPA_候補"].iter_rows() for c in row]
    assert "研修申込の集計" in chosen and 80.0 in chosen  # 100 hours a year × 0.8
    # The interim report (September 30) lists only what was found by then.
    interim = _report(session, tmp_path, "interim").rpa_operations
    assert interim is not None
    assert [i.title for i in interim.issues] == ["<script>alert(1)</script>帳票の画面待ち"]
    assert interim.chosen == []


def test_no_operations_no_section(session: Session, tmp_path: Path) -> None:
    report = _report(session, tmp_path, "final")
    assert report.rpa_operations is None
    assert "運用上の課題（課題管理表）" not in render_html(report, [])
    indicators = {i.name: i for i in report.indicators}
    chosen = indicators["追加適用候補となる業務の選定"]
    assert (chosen.actual_text, chosen.status) == ("データなし", "測定中")
    issues = indicators["実運用上での課題の抽出と解決"]
    assert issues.actual_text == "データなし（測定中）、データなし（測定中）"
