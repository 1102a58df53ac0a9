"""`pilots demo`: the FY2019 demo data set reproduces every published figure, by computation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from pilots.cli import cli
from pilots.demo import demo_plan_text
from tests.conftest import ROOT

DEMO = ROOT / "data" / "demo"
SAMPLES = ROOT / "data" / "samples"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    """Run the whole demo once, with the real speech model, into a fresh folder."""
    out = tmp_path_factory.mktemp("demo")
    env = {"PILOTS_MODEL_DIR": str(model_dir)}
    result = CliRunner().invoke(
        cli,
        ["demo", "--out", str(out), "--data", str(DEMO), "--samples", str(SAMPLES)],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f"最終レポート: {out / 'report_fy2019_final.html'}" in result.output
    return out


def summary(demo: Path, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{demo / 'demo.db'}", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def test_final_report_shows_the_published_figures(demo: Path) -> None:
    page = (demo / "report_fy2019_final.html").read_text(encoding="utf-8")
    # 116 departments, 62 hours a month, 83.87%, about 1,800 hours and 84%, 30 systems
    assert "令和元年度に116所属で利用され、ひと月あたり平均62時間の業務削減" in page
    assert "83.87%" in page
    assert "約1,800時間の作業時間を削減し、削減率は約84%" in page
    assert "30システム" in page
    assert "令和2年3月末時点" in page


def test_the_figures_come_from_the_computation(demo: Path) -> None:
    """The report's figures are the summaries' own, which the data set produces."""
    asr = summary(demo, "asr", "summary", "--fy", "2019", "--period", "final")
    assert asr["departments_using"] == 116
    assert round(float(asr["avg_hours_saved_per_month"])) == 62  # type: ignore[arg-type]
    survey = summary(demo, "survey", "summary")
    assert (survey["satisfied"], survey["valid"]) == (26, 31)
    assert survey["non_responses"] == 4 and survey["unrecognised"] == 1
    rpa = summary(demo, "rpa", "summary", "--fy", "2019", "--period", "final")
    assert 1750 <= float(rpa["reduced_hours"]) < 1850  # type: ignore[arg-type]
    assert 0.835 <= float(rpa["reduction_rate"]) < 0.845  # type: ignore[arg-type]
    assert rpa["unmatched_runs"] == 14
    # the plan holds targets only: the actual values come from the data
    plan = demo_plan_text()
    for figure in ("116", "62", "83.87", "1800", "1,800", "84%"):
        assert figure not in plan


def test_the_rpa_issues_and_next_years_tasks_come_from_the_data(demo: Path) -> None:
    """The logs' failures flag one terminal; the register and the choice give the sheet's words."""
    issues = summary(demo, "rpa", "issues", "--fy", "2019", "--period", "final")
    assert [t["terminal"] for t in issues["terminals"] if t["flagged"]] == ["WA-PC03"]
    assert len({t["terminal"] for t in issues["terminals"]}) == 5
    codes = {g["error_code"] for g in issues["groups"]}
    assert {"E2003", "E3002", "E9001", "E1102"} <= codes
    register = summary(demo, "rpa", "issue", "list", "--fy", "2019", "--period", "final")
    assert (register["issues_extracted"], register["issues_resolved"]) == (5, 4)
    titles = " ".join(e["title"] for e in register["entries"])
    assert "【例外処理】" in titles and "【端末管理】" in titles
    terminal = next(e for e in register["entries"] if e["terminal"] == "WA-PC03")
    effect = terminal["effect"]
    assert effect["rate_after"] < effect["rate_before"] / 3  # the fix worked
    chosen = summary(demo, "rpa", "candidates", "--fy", "2019")
    assert (chosen["departments"], chosen["candidates_selected"]) == (3, 3)
    final = (demo / "report_fy2019_final.html").read_text(encoding="utf-8")
    assert "令和2年度の適用候補（3所属3業務）" in final
    assert "要点検の端末（端末管理）: WA-PC03" in final
    assert "5件を抽出、4件を解決" in final
    interim = (demo / "report_fy2019_interim.html").read_text(encoding="utf-8")
    assert "3件を抽出、2件を解決" in interim and "令和2年度の適用候補（未選定）" in interim


def test_one_job_is_a_real_transcription(demo: Path) -> None:
    jobs = CliRunner().invoke(
        cli,
        [
            "--db",
            f"sqlite:///{demo / 'demo.db'}",
            "asr",
            "jobs",
            "--fy",
            "2019",
            "--dept",
            "IT・業務改革課",
            "--json",
        ],
    )
    assert jobs.exit_code == 0, jobs.output
    sources = [j["source"] for j in json.loads(jobs.output)]
    assert sources.count("pilots") == 1
    assert (demo / "minutes" / "joho_rpa_weekly.docx").is_file()


def test_the_demo_draft_shows_who_speaks(demo: Path) -> None:
    lines = (demo / "minutes" / "joho_rpa_weekly.txt").read_text(encoding="utf-8").splitlines()
    speakers = [line.split("：", 1)[0] for line in lines]
    assert speakers[:4] == ["話者1", "話者2", "話者2", "話者1"]
    assert set(speakers) == {"話者1", "話者2", "話者3", "話者4"}  # 課長, 主査, 主任, 主事


def test_interim_report_is_as_of_september(demo: Path) -> None:
    page = (demo / "report_fy2019_interim.html").read_text(encoding="utf-8")
    assert "令和元年9月末時点" in page
    assert "中間" in page
    book = openpyxl.load_workbook(demo / "report_fy2019_interim.xlsx")
    assert "指標" in book.sheetnames


def test_data_set_is_made_by_the_generator_with_a_fixed_seed(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_demo_data.py"), "--out", str(tmp_path)],
        check=True,
        env=dict(os.environ),
    )
    for name in (
        "departments.csv",
        "asr_usage_2019_first_half.csv",
        "wmc_tasks.csv",
        "uipath_jobs.csv",
        "rpa_issues.csv",
        "rpa_work_survey.csv",
    ):
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), name
    for name in ("asr_usage_2019_second_half.xlsx", "survey_forms.xlsx", "rpa_catalog.xlsx"):
        made = [
            r for r in openpyxl.load_workbook(tmp_path / name).active.iter_rows(values_only=True)
        ]
        shipped = [
            r for r in openpyxl.load_workbook(DEMO / name).active.iter_rows(values_only=True)
        ]
        assert made == shipped, name
