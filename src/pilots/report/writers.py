"""Writing the effect report as one self-contained HTML file, an Excel workbook and Markdown."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pilots import __version__
from pilots.calendar import PERIOD_LABELS, format_date, format_fiscal_year, period
from pilots.errors import ConfigError
from pilots.files import Writer, atomic_write_all, make_folder
from pilots.output import format_figure
from pilots.report import charts
from pilots.report.build import Report
from pilots.templating import environment
from pilots.text import markdown_escape

if TYPE_CHECKING:
    from pilots.asr.measure import AsrSummary
    from pilots.rpa.measure import RpaSummary
    from pilots.survey.measure import SurveySummary

FORMATS: tuple[str, ...] = ("html", "xlsx", "md")
DETAIL_LIMIT = 50  # rows of each data-quality list shown in HTML and Markdown (Excel has all)
# Characters XML 1.0 cannot hold (openpyxl refuses them): dropped from text cells.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


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


# Display formats: numbers stay numbers, the unit is shown by the format.
RATE, HOURS, COUNT, RUNS = "0.00%", '#,##0.0"時間"', '#,##0"件"', '#,##0"回"'
_LANDSCAPE_WIDTH = 100  # sheets wider than this (in Excel's column units) print landscape


_LINE_POINTS = 15  # one line of the default 11-point font


def _lines(text: str, width: float) -> int:
    """Lines ``text`` wraps to in a column ``width`` units wide (a kanji takes about two)."""
    from pilots.output import display_width

    room = max(int(width * 0.9), 1)
    return sum(max(1, -(-display_width(part) // room)) for part in text.split("\n"))


def _unit_format(unit: str, value: object) -> str:
    """The display format of a figure in its unit: 0.00%, #,##0"所属", #,##0.0"時間/月"."""
    if unit == "%":
        return RATE
    literal = f'"{unit.replace(chr(34), "")}"' if unit else ""
    if isinstance(value, float) and not value.is_integer():
        return f"#,##0.0{literal}"
    return f"#,##0{literal}"


class _Sheet:
    """One printable sheet: title on top, header row repeated on every printed page,
    fitted to the width of A4, and every text written as text (never a formula)."""

    HEADER_ROW = 3

    def __init__(
        self,
        book: Any,
        report: Report,
        name: str,
        headers: Sequence[str],
        widths: Sequence[int],
        *,
        caption: str = "",
    ) -> None:
        from openpyxl.styles import Alignment, Font, PatternFill
        from openpyxl.worksheet.properties import PageSetupProperties

        self.ws = ws = book.create_sheet(name)
        self.widths = list(widths)
        # One style object for every wrapped cell: openpyxl compares each new one
        # with all it has seen, which made a year's workbook several times slower.
        self.wrapped = Alignment(wrap_text=True, vertical="top")
        self.row = self.HEADER_ROW
        self.put(1, 1, f"{report.title}（{report.as_of_text}）— {name}").font = Font(
            bold=True, size=13
        )
        if caption:
            self.put(2, 1, caption).alignment = self.wrapped
            ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(headers))
            ws.row_dimensions[2].height = _LINE_POINTS * _lines(caption, sum(widths))
        for col, header in enumerate(headers, start=1):
            cell = self.put(self.HEADER_ROW, col, header)
            cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="EEF3F9")
            cell.alignment = self.wrapped
        for col, width in enumerate(widths, start=1):
            ws.column_dimensions[ws.cell(1, col).column_letter].width = width
        ws.freeze_panes = ws.cell(self.HEADER_ROW + 1, 1)
        ws.print_title_rows = f"{self.HEADER_ROW}:{self.HEADER_ROW}"
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.orientation = "landscape" if sum(widths) > _LANDSCAPE_WIDTH else "portrait"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.page_margins.left = ws.page_margins.right = 0.5
        ws.oddFooter.center.text = "&P / &N"

    def put(self, row: int, col: int, value: object) -> Any:
        """Write one cell; text (from users, files or pilots) is stored as text."""
        cell = self.ws.cell(row, col)
        if isinstance(value, str):
            cell.value = _ILLEGAL_XML.sub("", value)
            # openpyxl makes any text that starts with "=" a formula: user text
            # (a comment "=cmd|…", a department "=1+1課") must stay text.
            cell.data_type = "s"
        else:
            cell.value = value
        return cell

    def add(
        self, values: Sequence[object], formats: dict[int, str] | None = None, *, wrap: bool = False
    ) -> list[Any]:
        """Append a data row; ``formats`` maps 1-based columns to display formats.

        With ``wrap``, a row whose text is wider than its column wraps within it,
        top-aligned, and gets the height of its longest cell.
        """
        self.row += 1
        cells = [self.put(self.row, col, v) for col, v in enumerate(values, start=1)]
        for col, number_format in (formats or {}).items():
            cells[col - 1].number_format = number_format
        lines = max(
            (
                _lines(v, width)
                for v, width in zip(values, self.widths, strict=False)
                if wrap and isinstance(v, str)
            ),
            default=1,
        )
        if lines > 1:
            for cell in cells:
                cell.alignment = self.wrapped
            # Neither Excel nor LibreOffice grows a row for wrapped text it did not
            # lay out itself, so the height is set from the text's printed width.
            self.ws.row_dimensions[self.row].height = _LINE_POINTS * lines
        return cells


def write_xlsx(report: Report, path: Path) -> None:
    """The report as an Excel workbook: the indicator table and each pilot's details.

    Numbers are stored as numbers with display formats (0.00%, 時間, 件), so
    evaluators can go on calculating with them; every text is stored as text.
    Each sheet prints on A4 as an office prints it: its title on top, the
    header row on every page, fitted to the page width (landscape when wide).
    """
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    written = (
        f"作成日 {format_date(report.generated)}（pilots {__version__} により元データから集計）"
    )
    indicators = _Sheet(
        book,
        report,
        "指標",
        ["取組", "区分", "指標", "目標", "実績", "判定", "実績の出どころ", "備考"],
        (20, 13, 30, 13, 13, 7, 40, 24),
        caption="　".join([written, *report.notes]),
    )
    for i in report.indicators:
        indicators.add(
            (i.initiative, i.level, i.name, i.target, i.actual, i.status, i.source, i.note),
            {5: _unit_format(i.unit, i.actual)},
            wrap=True,
        )
    progress = _Sheet(
        book,
        report,
        "進捗状況",
        [
            "取組",
            "今年度何をするか",
            "何をどのような状態にするか（目標）",
            f"進捗状況（{report.as_of_short}）",
        ],
        (16, 45, 40, 55),
    )
    for ini in report.initiatives:
        progress.add(
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
            ),
            wrap=True,
        )
    if report.asr is not None:
        _asr_sheets(book, report, report.asr)
    if report.rpa is not None:
        _rpa_sheets(book, report, report.rpa)
    for n, survey in enumerate(report.surveys, start=1):
        _survey_sheets(book, report, survey, "" if n == 1 else str(n))
    method = _Sheet(book, report, "集計方法", ["項目", "規則"], (30, 90))
    for name, rule in report.method:
        method.add((name, rule), wrap=True)
    quality = _Sheet(
        book, report, "データ品質", ["領域", "内容", "件数", "扱い", "明細"], (14, 28, 8, 36, 50)
    )
    for q in report.quality:
        quality.add(
            (q.area, q.what, q.count, q.reason, q.details[0] if q.details else ""),
            {3: COUNT},
            wrap=True,
        )
        for detail in q.details[1:]:  # count and treatment once, on the item's first row
            quality.add((q.area, q.what, None, None, detail), wrap=True)
    book.save(path)


def _asr_sheets(book: Any, report: Report, a: AsrSummary) -> None:
    by_department = _Sheet(
        book,
        report,
        "音声認識_所属別",
        [
            "所属",
            "ジョブ",
            "うち修正時間報告",
            "録音時間",
            "従来作業時間率",
            "率の出どころ",
            "削減時間",
        ],
        (28, 9, 12, 12, 12, 12, 12),
    )
    for d in a.by_department:
        by_department.add(
            (
                d.department,
                d.jobs,
                d.measured_jobs,
                d.audio_hours,
                d.baseline_rate,
                "既定値" if d.rate_source == "default" else "所属の値",
                d.hours_saved,
            ),
            {2: COUNT, 3: COUNT, 4: HOURS, 5: '0.0#"時間/時間"', 7: HOURS},
        )
    by_month = _Sheet(
        book,
        report,
        "音声認識_月別",
        [
            "月",
            "ジョブ",
            "うち修正時間報告",
            "利用所属",
            "利用所属（累計）",
            "録音時間",
            "削減時間",
        ],
        (14, 9, 12, 10, 12, 12, 12),
    )
    for m in a.by_month:
        by_month.add(
            (
                m.label,
                m.jobs,
                m.measured_jobs,
                m.departments_using,
                m.departments_cumulative,
                m.audio_hours,
                m.hours_saved,
            ),
            {2: COUNT, 3: COUNT, 4: '#,##0"所属"', 5: '#,##0"所属"', 6: HOURS, 7: HOURS},
        )


def _rpa_sheets(book: Any, report: Report, p: RpaSummary) -> None:
    task_formats = {4: RUNS, 5: RUNS, 6: RUNS, 7: RUNS, 8: COUNT, 9: HOURS, 10: HOURS}
    task_formats |= {11: HOURS, 12: RATE}
    tasks = _Sheet(
        book,
        report,
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
            "導入前",
            "導入後",
            "削減時間",
            "削減率",
        ],
        (9, 24, 18, 9, 8, 8, 8, 9, 10, 10, 10, 8),
    )
    for t in p.tasks:
        tasks.add(
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
            ),
            task_formats,
        )
    tasks.add(
        (
            "合計",
            "（全業務をまとめた率）",
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
        task_formats,
    )
    tasks.add(("参考", "業務別削減率の単純平均", *[None] * 9, p.mean_task_rate), {12: RATE})
    months = _Sheet(
        book,
        report,
        "RPA_月別",
        [
            "月",
            "成功",
            "失敗",
            "その他",
            "業務台帳にない実行",
            "件数",
            "導入前",
            "導入後",
            "削減時間",
            "削減率",
        ],
        (10, 8, 8, 8, 12, 9, 10, 10, 10, 8),
    )
    for m in p.by_month:
        months.add(
            (
                f"{int(m.month[:4])}年{int(m.month[5:])}月",
                m.runs_success,
                m.runs_failure,
                m.other_runs,
                m.unmatched_runs,
                m.cases,
                m.baseline_hours,
                m.residual_hours,
                m.reduced_hours,
                m.reduction_rate,
            ),
            {2: RUNS, 3: RUNS, 4: RUNS, 5: RUNS, 6: COUNT, 7: HOURS, 8: HOURS, 9: HOURS, 10: RATE},
        )


def _survey_sheets(book: Any, report: Report, s: SurveySummary, suffix: str) -> None:
    caption = f"調査「{s.survey}」 設問「{s.question}」"
    figures = _Sheet(book, report, f"満足度{suffix}", ["項目", "値"], (30, 14), caption=caption)
    for label, n in s.distribution.items():
        figures.add((label, n), {2: COUNT})
    for label, value, number_format in (
        ("有効回答（分母）", s.valid, COUNT),
        ("満足（大変満足＋満足）", s.satisfied, COUNT),
        ("満足度", s.satisfaction_rate, RATE),
        ("95%信頼区間 下限", s.ci95[0] if s.ci95 else None, RATE),
        ("95%信頼区間 上限", s.ci95[1] if s.ci95 else None, RATE),
        ("目標（計画）", s.target, RATE),
        ("無回答", s.non_responses, COUNT),
        ("5段階にない回答", s.unrecognised, COUNT),
    ):
        figures.add((label, value), {2: number_format})
    by_department = _Sheet(
        book,
        report,
        f"満足度{suffix}_所属別",
        ["所属", "回答", "有効回答", "満足", "満足度"],
        (28, 8, 10, 8, 10),
        caption=caption,
    )
    for d in s.by_department:
        by_department.add(
            (d.department, d.responses, d.valid, d.satisfied, d.satisfaction_rate),
            {2: COUNT, 3: COUNT, 4: COUNT, 5: RATE},
        )
    comments = _Sheet(
        book, report, f"自由記述{suffix}", ["行", "所属", "回答", "意見"], (6, 22, 12, 70),
        caption=caption,
    )  # fmt: skip
    for c in s.comments:
        comments.add((c.line, c.department, c.answer, c.text), wrap=True)


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
