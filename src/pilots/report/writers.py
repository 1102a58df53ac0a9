"""Writing the effect report as one self-contained HTML file, an Excel workbook and Markdown."""

from __future__ import annotations

import re
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

FORMATS: tuple[str, ...] = ("html", "xlsx", "md")
DETAIL_LIMIT = 50  # rows of each data-quality list shown in HTML and Markdown (Excel has all)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def report_stem(report: Report) -> str:
    """The file name of a report without extension: report_fy2019_final[_asof2020-01-31]."""
    stem = f"report_fy{report.period.fiscal_year}_{report.period.kind}"
    if report.period.end != period(report.period.fiscal_year, report.period.kind).end:
        stem += f"_asof{report.period.end.isoformat()}"
    return stem


def markdown_escape(value: Any) -> str:
    """Escape text for Markdown: its syntax characters, and HTML, which renderers pass through."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("\r\n", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\\<", "&lt;").replace("\\>", "&gt;")


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
    if report.survey is not None and report.survey.valid:
        out.append(
            (
                "満足度調査: 回答の分布と満足度",
                charts.satisfaction_chart(
                    report.survey.distribution,
                    report.survey.satisfaction_rate,
                    report.survey.ci95,
                    target=report.survey.target,
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
    }


def _environment(autoescape: bool) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pilots.report", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_escape
    env.filters["figure"] = format_figure
    return env


def render_html(report: Report, chart_list: Sequence[tuple[str, str]] | None = None) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, A4 print layout).

    Every value is escaped by Jinja2's autoescape; only the SVG charts, which
    pilots draws itself, are inserted as markup.
    """
    context = _context(report) | {
        "charts": chart_svgs(report) if chart_list is None else chart_list
    }
    return str(_environment(True).get_template("report.html.j2").render(context))


def render_markdown(report: Report) -> str:
    """The report as Markdown (user text escaped)."""
    return str(_environment(False).get_template("report.md.j2").render(_context(report)))


def write_xlsx(report: Report, path: Path) -> None:
    """The report as an Excel workbook: the indicator table and each pilot's details.

    Numbers are stored as numbers with display formats (0.0%, #,##0.0), so
    evaluators can go on calculating with them.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="EEF3F9")

    def sheet(
        title: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        formats: dict[int, str] | None = None,
        widths: Sequence[int] = (),
    ) -> None:
        ws = book.create_sheet(title)
        ws.append(list(headers))
        for cell in ws[1]:
            cell.font, cell.fill = head_font, head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in rows:
            ws.append(list(row))
        for column, number_format in (formats or {}).items():
            for (cell,) in ws.iter_rows(min_row=2, min_col=column, max_col=column):
                cell.number_format = number_format
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = width
        ws.freeze_panes = "A2"

    book.remove(book.active)
    hours, rate, count = "#,##0.0", "0.00%", "#,##0"
    sheet(
        "指標",
        ["取組", "区分", "指標", "目標", "実績", "単位", "判定", "実績の出どころ", "備考"],
        [
            (i.initiative, i.level, i.name, i.target, i.actual, i.unit, i.status, i.source, i.note)
            for i in report.indicators
        ],
        None,
        (24, 10, 30, 14, 12, 8, 8, 24, 30),
    )
    ws = book["指標"]
    for row in ws.iter_rows(min_row=2):
        unit = row[5].value
        row[4].number_format = (
            rate
            if unit == "%"
            else (
                "#,##0.0"
                if isinstance(row[4].value, float) and not float(row[4].value).is_integer()
                else count
            )
        )
    ws.cell(len(report.indicators) + 3, 1, f"{report.title}（{report.as_of_text}）")
    sheet(
        "進捗状況",
        [
            "取組",
            "今年度何をするか",
            "何をどのような状態にするか（目標）",
            f"進捗状況（{report.as_of_short}）",
        ],
        [
            (
                ini.name,
                "\n".join(
                    [ini.what] + [f"{m.when} {m.label}（{m.state}）" for m in ini.milestones]
                ),
                "\n".join(
                    ([ini.target_text] if ini.target_text else [])
                    + [f"【{i.level}】{i.name} {i.target}" for i in ini.indicators]
                ),
                "\n".join(
                    ini.progress
                    + [f"{i.name}: {i.actual_text} {i.status}" for i in ini.indicators if i.target]
                ),
            )
            for ini in report.initiatives
        ],
        None,
        (20, 50, 45, 55),
    )
    for row in book["進捗状況"].iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    if report.asr is not None:
        a = report.asr
        sheet(
            "音声認識_所属別",
            [
                "所属",
                "ジョブ",
                "うち修正時間報告",
                "録音時間(時間)",
                "従来作業時間率",
                "率の出どころ",
                "削減時間(時間)",
            ],
            [
                (
                    d.department,
                    d.jobs,
                    d.measured_jobs,
                    d.audio_hours,
                    d.baseline_rate,
                    "既定値" if d.rate_source == "default" else "所属の値",
                    d.hours_saved,
                )
                for d in a.by_department
            ],
            {2: count, 3: count, 4: hours, 5: "0.0#", 7: hours},
            (28, 8, 14, 14, 14, 12, 14),
        )
        sheet(
            "音声認識_月別",
            [
                "月",
                "ジョブ",
                "うち修正時間報告",
                "利用所属",
                "利用所属（累計）",
                "録音時間(時間)",
                "削減時間(時間)",
            ],
            [
                (
                    m.label,
                    m.jobs,
                    m.measured_jobs,
                    m.departments_using,
                    m.departments_cumulative,
                    m.audio_hours,
                    m.hours_saved,
                )
                for m in a.by_month
            ],
            {2: count, 3: count, 4: count, 5: count, 6: hours, 7: hours},
            (14, 8, 14, 10, 14, 14, 14),
        )
    if report.rpa is not None:
        p = report.rpa
        sheet(
            "RPA_業務別",
            [
                "業務ID",
                "業務名",
                "所属",
                "実行回数",
                "成功",
                "失敗",
                "その他",
                "件数",
                "導入前(時間)",
                "導入後(時間)",
                "削減時間(時間)",
                "削減率",
            ],
            [
                (
                    t.task_id,
                    t.task_name,
                    t.department,
                    t.runs,
                    t.runs_success,
                    t.runs_failure,
                    t.other_runs,
                    t.cases,
                    t.baseline_hours,
                    t.residual_hours,
                    t.reduced_hours,
                    t.reduction_rate,
                )
                for t in p.tasks
            ]
            + [
                (
                    "合計",
                    "（プール）",
                    "",
                    None,
                    p.runs_success,
                    p.runs_failure,
                    p.other_runs,
                    None,
                    p.baseline_hours,
                    p.residual_hours,
                    p.reduced_hours,
                    p.reduction_rate,
                ),
                (
                    "参考",
                    "業務別削減率の単純平均",
                    "",
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    p.mean_task_rate,
                ),
            ],
            {
                4: count,
                5: count,
                6: count,
                7: count,
                8: count,
                9: hours,
                10: hours,
                11: hours,
                12: rate,
            },
            (10, 28, 20),
        )
        sheet(
            "RPA_月別",
            [
                "月",
                "成功",
                "失敗",
                "その他",
                "対応業務なし",
                "件数",
                "導入前(時間)",
                "導入後(時間)",
                "削減時間(時間)",
                "削減率",
            ],
            [
                (
                    m.month,
                    m.runs_success,
                    m.runs_failure,
                    m.other_runs,
                    m.unmatched_runs,
                    m.cases,
                    m.baseline_hours,
                    m.residual_hours,
                    m.reduced_hours,
                    m.reduction_rate,
                )
                for m in p.by_month
            ],
            {
                2: count,
                3: count,
                4: count,
                5: count,
                6: count,
                7: hours,
                8: hours,
                9: hours,
                10: rate,
            },
        )
    if report.survey is not None:
        s = report.survey
        rows: list[Sequence[Any]] = [(label, n) for label, n in s.distribution.items()]
        rows += [
            ("有効回答（分母）", s.valid),
            ("満足（大変満足＋満足）", s.satisfied),
            ("満足度", s.satisfaction_rate),
            ("95%信頼区間 下限", s.ci95[0] if s.ci95 else None),
            ("95%信頼区間 上限", s.ci95[1] if s.ci95 else None),
            ("目標", s.target),
            ("無回答", s.non_responses),
            ("5段階にない回答", s.unrecognised),
        ]
        sheet("満足度", ["項目", "値"], rows, None, (28, 12))
        for row in book["満足度"].iter_rows(min_row=2):
            if isinstance(row[1].value, float):
                row[1].number_format = rate
        sheet(
            "満足度_所属別",
            ["所属", "回答", "有効回答", "満足", "満足度"],
            [
                (d.department, d.responses, d.valid, d.satisfied, d.satisfaction_rate)
                for d in s.by_department
            ],
            {5: rate},
            (28, 8, 10, 8, 10),
        )
        sheet(
            "自由記述",
            ["行", "所属", "回答", "意見"],
            [(c.line, c.department, c.answer, c.text) for c in s.comments],
            None,
            (6, 24, 14, 80),
        )
    sheet("集計方法", ["項目", "規則"], report.method, None, (28, 100))
    sheet(
        "データ品質",
        ["領域", "内容", "件数", "扱い", "明細"],
        [
            (q.area, q.what, q.count, q.reason, d)
            for q in report.quality
            for d in (q.details or [""])
        ],
        {3: count},
        (12, 28, 8, 40, 60),
    )
    book.save(path)


def write_report(report: Report, out_dir: Path, formats: Sequence[str]) -> list[Path]:
    """Write the report in each format into ``out_dir``, all or nothing.

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
        "html": lambda: _text_writer(render_html(report)),
        "md": lambda: _text_writer(render_markdown(report)),
        "xlsx": lambda: lambda path: write_xlsx(report, path),
    }
    make_folder(out_dir)
    return atomic_write_all([(out_dir / f"{stem}.{fmt}", writers[fmt]()) for fmt in chosen])


def _text_writer(text: str) -> Writer:
    return lambda path: path.write_text(text, encoding="utf-8", newline="\n")
