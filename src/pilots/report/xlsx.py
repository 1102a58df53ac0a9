"""The effect report as an Excel workbook: the indicator table, each pilot's details, the method.

Numbers are stored as numbers with display formats (0.00%, 時間, 件), so
evaluators can go on calculating with them; every text is stored as text,
never as a formula (:meth:`_Sheet.put`). Each sheet prints on A4 as an office
prints it: its title on top, the header row on every page, fitted to the page
width (landscape when wide). One function writes one sheet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pilots import __version__
from pilots.calendar import format_date
from pilots.output import display_width
from pilots.report.build import Report

if TYPE_CHECKING:
    from pilots.asr.measure import AsrSummary
    from pilots.rpa.measure import RpaSummary
    from pilots.survey.measure import SurveySummary

# Display formats: numbers stay numbers, the unit is shown by the format.
RATE, HOURS, COUNT, RUNS = "0.00%", '#,##0.0"時間"', '#,##0"件"', '#,##0"回"'
DEPARTMENTS = '#,##0"所属"'
CHARACTERS = '#,##0"文字"'
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
        _asr_sources(book, report, report.asr)
        _asr_accuracy(book, report, report.asr)
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


@dataclass(frozen=True)
class _Column:
    """A column of a table sheet: its header, width, value for a row's item, display format."""

    header: str
    width: int
    value: Callable[[Any], object]
    number_format: str | None = None


def _table(
    book: Any,
    report: Report,
    name: str,
    columns: Sequence[_Column],
    items: Iterable[Any],
    *,
    caption: str = "",
    wrap: bool = False,
) -> _Sheet:
    """A sheet with one row per item, its cells as ``columns`` say."""
    sheet = _Sheet(
        book, report, name, [c.header for c in columns], [c.width for c in columns], caption=caption
    )
    formats = _formats(columns)
    for item in items:
        sheet.add([c.value(item) for c in columns], formats, wrap=wrap)
    return sheet


def _formats(columns: Sequence[_Column]) -> dict[int, str]:
    return {i: c.number_format for i, c in enumerate(columns, start=1) if c.number_format}


_JOBS = (
    _Column("ジョブ", 9, attrgetter("jobs"), COUNT),
    _Column("うち修正時間報告", 12, attrgetter("measured_jobs"), COUNT),
)
_AUDIO = _Column("録音時間", 12, attrgetter("audio_hours"), HOURS)
_SAVED = _Column("削減時間", 12, attrgetter("hours_saved"), HOURS)
_ASR_DEPARTMENTS = (
    _Column("所属", 28, attrgetter("department")),
    *_JOBS,
    _AUDIO,
    _Column("従来作業時間率", 12, attrgetter("baseline_rate"), '0.0#"時間/時間"'),
    _Column("率の出どころ", 12, lambda d: "既定値" if d.rate_source == "default" else "所属の値"),
    _SAVED,
)
_ASR_MONTHS = (
    _Column("月", 14, attrgetter("label")),
    *_JOBS,
    _Column("利用所属", 10, attrgetter("departments_using"), DEPARTMENTS),
    _Column("利用所属（累計）", 12, attrgetter("departments_cumulative"), DEPARTMENTS),
    _AUDIO,
    _SAVED,
)
_PER_AUDIO_HOUR = '#,##0.00"時間"'
_ASR_SOURCES = (
    _Column("出どころ", 16, attrgetter("label")),
    _Column("ジョブ", 9, attrgetter("jobs"), COUNT),
    _AUDIO,
    _Column("修正時間", 12, attrgetter("correction_hours"), HOURS),
    _SAVED,
    _Column(
        "録音1時間あたりの修正時間",
        14,
        attrgetter("correction_hours_per_audio_hour"),
        _PER_AUDIO_HOUR,
    ),
    _Column(
        "録音1時間あたりの削減時間", 14, attrgetter("hours_saved_per_audio_hour"), _PER_AUDIO_HOUR
    ),
)
_ASR_ACCURACY = (
    _Column("認識精度", 10, attrgetter("recognition_accuracy"), RATE),
    _Column("文字誤り率", 10, attrgetter("cer"), RATE),
    _Column("ジョブ", 9, attrgetter("jobs"), COUNT),
    _Column("修正後の文字数", 12, attrgetter("characters"), CHARACTERS),
    _Column("編集", 10, attrgetter("edits"), CHARACTERS),
    _Column("置換", 10, attrgetter("substitutions"), CHARACTERS),
    _Column("挿入", 10, attrgetter("insertions"), CHARACTERS),
    _Column("脱落", 10, attrgetter("deletions"), CHARACTERS),
)
# What the rule of SPEC §4 counts and computes, per task and per month alike.
_RUNS = (
    _Column("成功", 8, attrgetter("runs_success"), RUNS),
    _Column("失敗", 8, attrgetter("runs_failure"), RUNS),
    _Column("その他", 8, attrgetter("other_runs"), RUNS),
)
_CASES = _Column("件数", 9, attrgetter("cases"), COUNT)
_HOURS = (
    _Column("導入前", 10, attrgetter("baseline_hours"), HOURS),
    _Column("導入後", 10, attrgetter("residual_hours"), HOURS),
    _Column("削減時間", 10, attrgetter("reduced_hours"), HOURS),
    _Column("削減率", 8, attrgetter("reduction_rate"), RATE),
)
_RPA_TASKS = (
    _Column("業務ID", 9, attrgetter("task_id")),
    _Column("業務名", 24, attrgetter("task_name")),
    _Column("所属", 18, attrgetter("department")),
    _Column("実行回数", 9, attrgetter("runs"), RUNS),
    *_RUNS,
    _CASES,
    *_HOURS,
)
_RPA_MONTHS = (
    _Column("月", 10, lambda m: f"{int(m.month[:4])}年{int(m.month[5:])}月"),
    *_RUNS,
    _Column("業務台帳にない実行", 12, attrgetter("unmatched_runs"), RUNS),
    _CASES,
    *_HOURS,
)
_SURVEY_DEPARTMENTS = (
    _Column("所属", 28, attrgetter("department")),
    _Column("回答", 8, attrgetter("responses"), COUNT),
    _Column("有効回答", 10, attrgetter("valid"), COUNT),
    _Column("満足", 8, attrgetter("satisfied"), COUNT),
    _Column("満足度", 10, attrgetter("satisfaction_rate"), RATE),
)
_COMMENTS = (
    _Column("行", 6, attrgetter("line")),
    _Column("所属", 22, attrgetter("department")),
    _Column("回答", 12, attrgetter("answer")),
    _Column("意見", 70, attrgetter("text")),
)
_METHOD = (_Column("項目", 30, itemgetter(0)), _Column("規則", 90, itemgetter(1)))


def _asr_departments(book: Any, report: Report, a: AsrSummary) -> None:
    _table(book, report, "音声認識_所属別", _ASR_DEPARTMENTS, a.by_department)


def _asr_months(book: Any, report: Report, a: AsrSummary) -> None:
    _table(book, report, "音声認識_月別", _ASR_MONTHS, a.by_month)


def _asr_sources(book: Any, report: Report, a: AsrSummary) -> None:
    both = (
        "計測（修正エディタ）と自己申告の両方があるため、削減時間を出どころ別にも示す"
        "（件数と会議が違うため、比べるのは録音1時間あたりの値）。"
        if a.correction.both
        else ""
    )
    sheet = _table(
        book,
        report,
        "音声認識_修正時間の出どころ",
        _ASR_SOURCES,
        a.correction.by_source,
        caption=both + "削減時間の見出しの値は両方を合わせた全件による。",
    )
    total = ("合計（削減時間の見出しの値）", a.measured_jobs, None, None, a.hours_saved)
    sheet.add(total, {2: COUNT, 5: HOURS})


def _asr_accuracy(book: Any, report: Report, a: AsrSummary) -> None:
    caption = a.rules["accuracy"]
    if not a.accuracy.jobs:
        caption = "測定なし（修正後の文章と議事録案を比べたジョブがありません）。" + caption
    _table(book, report, "音声認識_認識精度", _ASR_ACCURACY, [a.accuracy], caption=caption)


def _rpa_tasks(book: Any, report: Report, p: RpaSummary) -> None:
    sheet = _table(book, report, "RPA_業務別", _RPA_TASKS, p.tasks)
    total = (
        *("合計", "（全業務をまとめた率）", "", None),
        *(p.runs_success, p.runs_failure, p.other_runs, None),
        *(p.baseline_hours, p.residual_hours, p.reduced_hours, p.reduction_rate),
    )
    sheet.add(total, _formats(_RPA_TASKS))
    sheet.add(("参考", "業務別削減率の単純平均", *[None] * 9, p.mean_task_rate), {12: RATE})


def _rpa_months(book: Any, report: Report, p: RpaSummary) -> None:
    _table(book, report, "RPA_月別", _RPA_MONTHS, p.by_month)


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
    name, caption = f"満足度{suffix}_所属別", _survey_caption(s)
    _table(book, report, name, _SURVEY_DEPARTMENTS, s.by_department, caption=caption)


def _survey_comments(book: Any, report: Report, s: SurveySummary, suffix: str) -> None:
    name, caption = f"自由記述{suffix}", _survey_caption(s)
    _table(book, report, name, _COMMENTS, s.comments, caption=caption, wrap=True)


def _method(book: Any, report: Report) -> None:
    _table(book, report, "集計方法", _METHOD, report.method, wrap=True)


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
