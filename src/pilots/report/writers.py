"""Writing the effect report as one self-contained HTML file, an Excel workbook and Markdown.

The HTML and Markdown come from templates (an office may replace them); the
workbook is written by :mod:`pilots.report.xlsx`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pilots import __version__
from pilots.calendar import PERIOD_LABELS, format_date, format_fiscal_year, period
from pilots.errors import ConfigError
from pilots.files import Writer, atomic_write_all, make_folder
from pilots.output import format_figure
from pilots.report import charts
from pilots.report.build import Report
from pilots.report.sheet import COLUMN_TITLES
from pilots.report.xlsx import write_xlsx
from pilots.templating import environment
from pilots.text import markdown_escape

FORMATS: tuple[str, ...] = ("html", "xlsx", "md")
DETAIL_LIMIT = 50  # rows of each data-quality list shown in HTML and Markdown (Excel has all)


def report_stem(report: Report) -> str:
    """The file name of a report without extension: report_fy2019_final[_asof2020-01-31]."""
    stem = f"report_fy{report.period.fiscal_year}_{report.period.kind}"
    if report.period.end != period(report.period.fiscal_year, report.period.kind).end:
        stem += f"_asof{report.period.end.isoformat()}"
    return stem


def _month_label(month: str) -> str:
    return f"{int(month[5:7])}月"


def chart_svgs(report: Report) -> list[tuple[str, str]]:
    """The charts of the report, titled, as inline SVG (only those with data)."""
    out: list[tuple[str, str]] = []
    if report.asr is not None:
        labels = [_month_label(m.month) for m in report.asr.by_month]
        out.append(
            (
                "音声認識: 月別の削減時間",
                charts.bar_chart(
                    labels,
                    [m.hours_saved for m in report.asr.by_month],
                    title="削減時間（修正時間の報告があるジョブ）",
                    ylabel="時間",
                ),
            )
        )
        out.append(
            (
                "音声認識: 利用所属数の推移",
                charts.step_chart(
                    labels,
                    [m.departments_cumulative for m in report.asr.by_month],
                    title="期首からの利用所属数（累計）",
                    ylabel="所属",
                ),
            )
        )
    if report.rpa is not None and report.rpa.tasks:
        tasks = report.rpa.tasks
        out.append(
            (
                "RPA: 業務別の作業時間と削減率",
                charts.baseline_residual_chart(
                    [t.task_name for t in tasks],
                    [t.baseline_hours for t in tasks],
                    [t.residual_hours for t in tasks],
                    [t.reduction_rate for t in tasks],
                    target=report.rpa.target_rate,
                ),
            )
        )
    for survey in report.surveys:
        if survey.valid:
            out.append(
                (
                    f"満足度調査: 回答の分布と満足度（{survey.survey}）",
                    charts.satisfaction_chart(
                        survey.distribution,
                        survey.satisfaction_rate,
                        survey.ci95,
                        target=survey.target,
                    ),
                )
            )
    return out


def _context(report: Report) -> dict[str, Any]:
    return {
        "r": report,
        "fiscal_year_label": format_fiscal_year(report.period.fiscal_year),
        "period_label": PERIOD_LABELS[report.period.kind],
        "period_range": f"{format_date(report.period.start)}〜{format_date(report.period.end)}",
        "generated": format_date(report.generated),
        "version": __version__,
        "detail_limit": DETAIL_LIMIT,
        "column_titles": COLUMN_TITLES,
    }


def _environment(autoescape: bool, template_dir: Path | None) -> Any:
    return environment(
        "pilots.report",
        template_dir,
        "report",
        autoescape=autoescape,
        filters={"md": markdown_escape, "figure": format_figure},
    )


def render_html(
    report: Report,
    chart_list: Sequence[tuple[str, str]] | None = None,
    template_dir: Path | None = None,
) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, A4 print layout).

    Every value is escaped by Jinja2's autoescape; only the SVG charts, which
    pilots draws itself, are inserted as markup. An office's own
    ``<template_dir>/report/report.html.j2`` replaces the shipped template.
    """
    context = _context(report) | {
        "charts": chart_svgs(report) if chart_list is None else chart_list
    }
    template = _environment(True, template_dir).get_template("report.html.j2")
    return str(template.render(context))


def render_markdown(report: Report, template_dir: Path | None = None) -> str:
    """The report as Markdown (user text escaped; ``<template_dir>/report/report.md.j2``
    replaces the shipped template)."""
    template = _environment(False, template_dir).get_template("report.md.j2")
    return str(template.render(_context(report)))


def write_report(
    report: Report, out_dir: Path, formats: Sequence[str], template_dir: Path | None = None
) -> list[Path]:
    """Write the report in each format into ``out_dir``, all or nothing.

    ``template_dir`` is the office's templates folder (the ``template_dir``
    setting): its ``report/`` templates replace the shipped ones.

    Raises:
        ConfigError: an unknown format.
        OutputFileError: a file cannot be written.
    """
    chosen = list(dict.fromkeys(f.lower() for f in formats)) or list(FORMATS)
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise ConfigError(
            "--format", f"{', '.join(unknown)} は出力できません（{', '.join(FORMATS)}）"
        )
    stem = report_stem(report)
    writers: dict[str, Callable[[], Writer]] = {
        "html": lambda: _text_writer(render_html(report, template_dir=template_dir)),
        "md": lambda: _text_writer(render_markdown(report, template_dir)),
        "xlsx": lambda: lambda path: write_xlsx(report, path),
    }
    make_folder(out_dir)
    return atomic_write_all([(out_dir / f"{stem}.{fmt}", writers[fmt]()) for fmt in chosen])


def _text_writer(text: str) -> Writer:
    return lambda path: path.write_text(text, encoding="utf-8", newline="\n")
