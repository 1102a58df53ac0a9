"""The effect report as an Excel workbook: the indicator table, each pilot's details, the method.

Numbers are stored as numbers with display formats (0.00%, 時間, 件), so
evaluators can go on calculating with them; every text is stored as text,
never as a formula (:meth:`_Sheet.put`). Each sheet prints on A4 as an office
prints it: its title on top, the header row on every page, fitted to the page
width (landscape when wide). One function writes one sheet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pilots import __version__
from pilots.calendar import format_date
from pilots.output import display_width
from pilots.report.build import Report

if TYPE_CHECKING:
    from pilots.asr.measure import AsrSummary
    from pilots.rpa.measure import RpaSummary, TaskFigures
    from pilots.survey.measure import SurveySummary

# Display formats: numbers stay numbers, the unit is shown by the format.
RATE, HOURS, COUNT, RUNS = "0.00%", '#,##0.0"時間"', '#,##0"件"', '#,##0"回"'
DEPARTMENTS = '#,##0"所属"'
_LANDSCAPE_WIDTH = 100  # sheets wider than this (in Excel's column units) print landscape
_LINE_POINTS = 15  # one line of the default 11-point font
# Characters XML 1.0 cannot hold (openpyxl refuses them): dropped from text cells.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _lines(text: str, width: float) -> int:
    """Lines ``text`` wraps to in a column ``width`` units wide (a kanji takes about two)."""
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
        from openpyxl.styles import Alignment

        self.ws = book.create_sheet(name)
        self.widths = list(widths)
        # One style object for every wrapped cell: openpyxl compares each new one
        # with all it has seen, which made a year's workbook several times slower.
        self.wrapped = Alignment(wrap_text=True, vertical="top")
        self.row = self.HEADER_ROW
        self._title(f"{report.title}（{report.as_of_text}）— {name}", caption, len(headers))
        self._headers(headers)
        self._print_setup()

    def _title(self, title: str, caption: str, columns: int) -> None:
        """The title in row 1 and, if any, a caption across the table's width in row 2."""
        from openpyxl.styles import Font

        self.put(1, 1, title).font = Font(bold=True, size=13)
        if caption:
            self.put(2, 1, caption).alignment = self.wrapped
            self.ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=columns)
            self.ws.row_dimensions[2].height = _LINE_POINTS * _lines(caption, sum(self.widths))

    def _headers(self, headers: Sequence[str]) -> None:
        """The header row, bold on a pale fill, and the columns' widths."""
        from openpyxl.styles import Font, PatternFill

        ws = self.ws
        for col, header in enumerate(headers, start=1):
            cell = self.put(self.HEADER_ROW, col, header)
            cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="EEF3F9")
            cell.alignment = self.wrapped
        for col, width in enumerate(self.widths, start=1):
            ws.column_dimensions[ws.cell(1, col).column_letter].width = width

    def _print_setup(self) -> None:
        """Frozen header; A4 fitted to the width, header repeated, page numbers in the footer."""
        from openpyxl.worksheet.properties import PageSetupProperties

        ws = self.ws
        ws.freeze_panes = ws.cell(self.HEADER_ROW + 1, 1)
        ws.print_title_rows = f"{self.HEADER_ROW}:{self.HEADER_ROW}"
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        landscape = sum(self.widths) > _LANDSCAPE_WIDTH
        ws.page_setup.orientation = "landscape" if landscape else "portrait"
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
    """The report as an Excel workbook: the indicator table and each pilot's details."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    _indicators(book, report)
    _progress(book, report)
    if report.asr is not None:
        _asr_departments(book, report, report.asr)
        _asr_months(book, report, report.asr)
    if report.rpa is not None:
        _rpa_tasks(book, report, report.rpa)
        _rpa_months(book, report, report.rpa)
    for n, survey in enumerate(report.surveys, start=1):
        suffix = "" if n == 1 else str(n)
        _survey_figures(book, report, survey, suffix)
        _survey_departments(book, report, survey, suffix)
        _survey_comments(book, report, survey, suffix)
    _method(book, report)
    _quality(book, report)
    book.save(path)


def _indicators(book: Any, report: Report) -> None:
    written = (
        f"作成日 {format_date(report.generated)}（pilots {__version__} により元データから集計）"
    )
    sheet = _Sheet(
        book,
        report,
        "指標",
        ["取組", "区分", "指標", "目標", "実績", "判定", "実績の出どころ", "備考"],
        (20, 13, 30, 13, 13, 7, 40, 24),
        caption="　".join([written, *report.notes]),
    )
    for i in report.indicators:
        sheet.add(
            (i.initiative, i.level, i.name, i.target, i.actual, i.status, i.source, i.note),
            {5: _unit_format(i.unit, i.actual)},
            wrap=True,
        )


def _progress(book: Any, report: Report) -> None:
    sheet = _Sheet(
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
        sheet.add(
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


def _asr_departments(book: Any, report: Report, a: AsrSummary) -> None:
    sheet = _Sheet(
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
        sheet.add(
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


def _asr_months(book: Any, report: Report, a: AsrSummary) -> None:
    sheet = _Sheet(
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
        sheet.add(
            (
                m.label,
                m.jobs,
                m.measured_jobs,
                m.departments_using,
                m.departments_cumulative,
                m.audio_hours,
                m.hours_saved,
            ),
            {2: COUNT, 3: COUNT, 4: DEPARTMENTS, 5: DEPARTMENTS, 6: HOURS, 7: HOURS},
        )


_TASK_FORMATS = {4: RUNS, 5: RUNS, 6: RUNS, 7: RUNS, 8: COUNT, 9: HOURS, 10: HOURS}
_TASK_FORMATS |= {11: HOURS, 12: RATE}


def _task_row(
    names: tuple[str, str, str], runs: int | None, cases: float | None, f: TaskFigures | RpaSummary
) -> tuple[object, ...]:
    """A row of the task sheet: a task's figures, or all tasks' (without runs and cases)."""
    return (
        *names,
        runs,
        f.runs_success,
        f.runs_failure,
        f.other_runs,
        cases,
        f.baseline_hours,
        f.residual_hours,
        f.reduced_hours,
        f.reduction_rate,
    )


def _rpa_tasks(book: Any, report: Report, p: RpaSummary) -> None:
    sheet = _Sheet(
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
        sheet.add(
            _task_row((t.task_id, t.task_name, t.department), t.runs, t.cases, t), _TASK_FORMATS
        )
    sheet.add(_task_row(("合計", "（全業務をまとめた率）", ""), None, None, p), _TASK_FORMATS)
    sheet.add(("参考", "業務別削減率の単純平均", *[None] * 9, p.mean_task_rate), {12: RATE})


def _rpa_months(book: Any, report: Report, p: RpaSummary) -> None:
    sheet = _Sheet(
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
        sheet.add(
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


def _survey_caption(s: SurveySummary) -> str:
    return f"調査「{s.survey}」 設問「{s.question}」"


def _survey_figures(book: Any, report: Report, s: SurveySummary, suffix: str) -> None:
    sheet = _Sheet(
        book, report, f"満足度{suffix}", ["項目", "値"], (30, 14), caption=_survey_caption(s)
    )
    for label, n in s.distribution.items():
        sheet.add((label, n), {2: COUNT})
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
        sheet.add((label, value), {2: number_format})


def _survey_departments(book: Any, report: Report, s: SurveySummary, suffix: str) -> None:
    sheet = _Sheet(
        book,
        report,
        f"満足度{suffix}_所属別",
        ["所属", "回答", "有効回答", "満足", "満足度"],
        (28, 8, 10, 8, 10),
        caption=_survey_caption(s),
    )
    for d in s.by_department:
        sheet.add(
            (d.department, d.responses, d.valid, d.satisfied, d.satisfaction_rate),
            {2: COUNT, 3: COUNT, 4: COUNT, 5: RATE},
        )


def _survey_comments(book: Any, report: Report, s: SurveySummary, suffix: str) -> None:
    sheet = _Sheet(
        book, report, f"自由記述{suffix}", ["行", "所属", "回答", "意見"], (6, 22, 12, 70),
        caption=_survey_caption(s),
    )  # fmt: skip
    for c in s.comments:
        sheet.add((c.line, c.department, c.answer, c.text), wrap=True)


def _method(book: Any, report: Report) -> None:
    sheet = _Sheet(book, report, "集計方法", ["項目", "規則"], (30, 90))
    for name, rule in report.method:
        sheet.add((name, rule), wrap=True)


def _quality(book: Any, report: Report) -> None:
    sheet = _Sheet(
        book, report, "データ品質", ["領域", "内容", "件数", "扱い", "明細"], (14, 28, 8, 36, 50)
    )
    for q in report.quality:
        sheet.add(
            (q.area, q.what, q.count, q.reason, q.details[0] if q.details else ""),
            {3: COUNT},
            wrap=True,
        )
        for detail in q.details[1:]:  # count and treatment once, on the item's first row
            sheet.add((q.area, q.what, None, None, detail), wrap=True)
