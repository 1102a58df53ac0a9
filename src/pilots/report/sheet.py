"""The progress sheet's three columns of each initiative, as every format of the report writes them.

今年度何をするか (what is done this year, the schedule and each step's state),
何をどのような状態にするか (the activity and outcome indicators, qualitative and
numeric) and 進捗状況 (what was done by the as-of date, and what shows each
indicator's progress) become lines — the same lines in the HTML, the Markdown
and the Excel workbook, marked as the sheet marks them (■, ◇, ・, ○, ⇒).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pilots.calendar import format_date, format_month, is_month_end
from pilots.report.indicators import IndicatorResult
from pilots.report.plan import LEVELS, Milestone, ProgressEntry, milestone_state
from pilots.report.sentences import Achievement

LineKind = Literal["title", "text", "heading", "item", "detail"]
COLUMN_TITLES = (
    "今年度何をするか（取組の内容、手法・スケジュール等）",
    "何をどのような状態にするか（目標）",
    "進捗状況",
)


@dataclass(frozen=True)
class SheetLine:
    """One line of a column.

    Attributes:
        kind: ``title`` (■ the initiative), ``text`` (the plan's own words),
            ``heading`` (◇活動指標（アウトプット）, （スケジュール） …), ``item`` (a
            step, an indicator, an entry) or ``detail`` (a line under an item).
        text: the line.
        state: a step's state (完了 …) or an indicator's judgement (達成 …), '' for none.
        mark: the sheet's mark before it (■, ・, ○, ⇒), '' for none; a list's bullet
            may stand for ・ and ○.
    """

    kind: LineKind
    text: str
    state: str = ""
    mark: str = ""

    @property
    def marked(self) -> str:
        """The line with its mark: ・利用所属における満足度：70%以上."""
        return self.mark + self.text


@dataclass(frozen=True)
class MilestoneResult:
    """A step of the schedule and its state on the as-of date."""

    label: str
    when: str
    state: str


def _when(milestone: Milestone) -> str:
    """The time of a step: the sheet's words if given, else its months (H31.4, R1.5〜R1.6)
    or days."""
    if milestone.shown:
        return milestone.shown
    start, end = milestone.start, milestone.end
    if start.day == 1 and is_month_end(end):
        first, last = format_month(start.year, start.month, "short"), ""
        if (start.year, start.month) != (end.year, end.month):
            last = format_month(end.year, end.month, "short")
    else:
        first, last = format_date(start, "short"), format_date(end, "short")
        if start == end:
            last = ""
    return f"{first}〜{last}" if last else first


def milestone_result(milestone: Milestone, as_of: date) -> MilestoneResult:
    """A step as the report shows it, with its state on the as-of date."""
    return MilestoneResult(milestone.label, _when(milestone), milestone_state(milestone, as_of))


def _texts(text: str, kind: LineKind = "text") -> list[SheetLine]:
    return [SheetLine(kind, line.strip()) for line in text.splitlines() if line.strip()]


def _entry_lines(entry: ProgressEntry, mark: str) -> list[SheetLine]:
    """An entry, then its details as written (⇒ …, ・RFI 実施 …)."""
    return [SheetLine("item", entry.text, mark=mark)] + [
        SheetLine("detail", line.text) for line in _flatten(entry.details)
    ]


def _flatten(entries: tuple[ProgressEntry, ...]) -> list[ProgressEntry]:
    return [e for entry in entries for e in (entry, *_flatten(entry.details))]


@dataclass(frozen=True)
class InitiativeResult:
    """One initiative in the three columns of the progress sheet.

    ``entries`` are the initiative's progress entries done by the as-of date
    (○ …), ``achievements`` its indicators' progress (（目標の達成状況など）).
    """

    key: str
    name: str
    what: str
    target_text: str
    milestones: list[MilestoneResult]
    indicators: list[IndicatorResult]
    entries: list[ProgressEntry]
    achievements: list[Achievement]

    @property
    def columns(self) -> tuple[list[SheetLine], list[SheetLine], list[SheetLine]]:
        """今年度何をするか, 何をどのような状態にするか, 進捗状況: each as its lines."""
        return self.what_column(), self.target_column(), self.progress_column()

    def what_column(self) -> list[SheetLine]:
        lines = [SheetLine("title", self.name, mark="■"), *_texts(self.what)]
        if self.milestones:
            lines.append(SheetLine("heading", "（スケジュール）"))
            lines += [SheetLine("item", f"{m.when}　{m.label}", m.state) for m in self.milestones]
        return lines

    def target_column(self) -> list[SheetLine]:
        lines = _texts(self.target_text)
        outputs = [i for i in self.indicators if i.level == LEVELS["output"]]
        outcomes = [i for i in self.indicators if i.level == LEVELS["outcome"]]
        if outputs:
            lines.append(SheetLine("heading", "◇活動指標（アウトプット）"))
            lines += [_target_line(i) for i in outputs]
        if outcomes:
            lines.append(SheetLine("heading", "◇成果指標（アウトカム）"))
            for kind, heading in (("qualitative", "（定性的な目標）"), ("numeric", "（数値目標）")):
                chosen = [i for i in outcomes if i.kind == kind]
                if chosen:
                    lines.append(SheetLine("heading", heading))
                    lines += [_target_line(i) for i in chosen]
        return lines

    def progress_column(self) -> list[SheetLine]:
        lines = [SheetLine("title", self.name, mark="■")]
        for entry in self.entries:
            lines += _entry_lines(entry, "○")
        if self.achievements:
            lines.append(SheetLine("heading", "（目標の達成状況など）"))
        for a in self.achievements:
            value = f"：{a.value}" if a.value else ""
            lines.append(SheetLine("item", a.heading + value, a.status, "・"))
            lines += [SheetLine("detail", s, mark="⇒") for s in a.sentences]
            lines += [SheetLine("detail", f"{f.label}: {f.text}", mark="⇒") for f in a.figures]
            for note in a.notes:
                lines.append(SheetLine("detail", note.text, mark="⇒"))
                lines += [SheetLine("detail", d.text) for d in _flatten(note.details)]
        if len(lines) == 1:
            lines.append(SheetLine("text", "（この時点までの記載はありません）"))
        return lines


def _target_line(indicator: IndicatorResult) -> SheetLine:
    """・利用所属における満足度：70%以上 (a numeric indicator with its target)."""
    target = f"：{indicator.target_words}" if indicator.target_words else ""
    return SheetLine("item", indicator.name + target, mark="・")


@dataclass(frozen=True)
class PartResult:
    """A part of the sheet (庁内のＩＴ化推進) and its initiatives; '' names the one part
    of a plan in the first layout."""

    name: str
    initiatives: list[InitiativeResult]
