"""The plan file (YAML): the year's progress sheet — its parts, initiatives, schedule, targets.

It describes the progress sheet the evaluators fill in: at the top the theme's
めざす方向 (direction) and 中長期の目標 (long-term goals); then its parts (庁内の
ＩＴ化推進, 市町村のＩＴ化支援), each with its initiatives; for each initiative
今年度何をするか (what is done this year, with its schedule as milestones),
何をどのような状態にするか (targets: activity indicators アウトプット and outcome
indicators アウトカム, each qualitative or numeric) and 進捗状況 (what was done,
each entry dated). A numeric indicator's actual value comes from a figure
pilots computes (``asr.departments_using`` …) or a value entered by hand with
its date; a qualitative one may show computed figures as its evidence.

A plan in the first layout — ``initiatives`` at the top, without parts — is
one part without a name, read as it always was. Every error names the field
and the line of the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pilots.calendar import (
    FISCAL_YEARS,
    fiscal_year_bounds,
    format_fiscal_year,
    parse_iso_or_japanese,
)
from pilots.errors import CalendarError, InputFileError


@dataclass(frozen=True)
class ComputedSource:
    """A figure pilots computes that a plan may name as an indicator's source."""

    unit: str
    label: str  # what it is, in the words of the report (実績の出どころ)


# Figures pilots computes, by the name a plan file uses for them.
COMPUTED_SOURCES: dict[str, ComputedSource] = {
    "asr.departments_using": ComputedSource("所属", "音声認識: 期間内に利用した所属の数"),
    "asr.jobs": ComputedSource("件", "音声認識: 期間内のジョブ（議事録案）の数"),
    "asr.measured_jobs": ComputedSource("件", "音声認識: 修正時間の報告があるジョブの数"),
    "asr.audio_hours": ComputedSource("時間", "音声認識: 録音時間の合計"),
    "asr.hours_saved": ComputedSource("時間", "音声認識: 削減時間の合計（導入前後の比較）"),
    "asr.avg_hours_saved_per_month": ComputedSource(
        "時間/月", "音声認識: ひと月あたりの削減時間（導入前後の比較）"
    ),
    "survey.satisfaction_rate": ComputedSource("%", "満足度調査: 満足（大変満足＋満足）の割合"),
    "survey.valid": ComputedSource("件", "満足度調査: 有効回答の数"),
    "survey.responses": ComputedSource("件", "満足度調査: 回答の数"),
    "rpa.baseline_hours": ComputedSource("時間", "RPA: 導入前の作業時間"),
    "rpa.residual_hours": ComputedSource("時間", "RPA: 導入後も残る作業時間"),
    "rpa.reduced_hours": ComputedSource("時間", "RPA: 削減時間"),
    "rpa.reduction_rate": ComputedSource("%", "RPA: 削減率（全業務をまとめた率）"),
    "rpa.mean_task_rate": ComputedSource("%", "RPA: 業務別削減率の単純平均（参考）"),
    "rpa.tasks": ComputedSource("業務", "RPA: 期間内に実行された業務の数"),
    "rpa.departments": ComputedSource("所属", "RPA: 期間内に実行された業務の所属の数"),
    # The RPA operations (report/rpa_issues.py): the issue register and next year's choice.
    "rpa.issues_extracted": ComputedSource("件", "RPA: 課題管理表の課題（基準日までに抽出）"),
    "rpa.issues_resolved": ComputedSource("件", "RPA: 課題管理表の課題（基準日までに解決）"),
    "rpa.candidates_selected": ComputedSource(
        "業務", "RPA: 基準日までに選定した翌年度の適用候補の業務（所属数を併記）"
    ),
}
COMPARISONS = (">=", "<=", ">", "<", "==")
LEVELS = {"output": "アウトプット", "outcome": "アウトカム"}


@dataclass(frozen=True)
class Milestone:
    """A step of the year's schedule (e.g. 7月 操作説明、実業務での利用開始).

    Attributes:
        start: first day of the step (a month means its first day).
        end: last day of the step (a month means its last day).
        label: what happens.
        done: the evaluator's own statement that it is done (True) or not
            (False); None lets the date decide.
        shown: the time as the sheet words it (随時, 年４回程度, 元年７月まで),
            shown instead of the dates; empty shows the dates.
    """

    start: date
    end: date
    label: str
    done: bool | None = None
    shown: str = ""


@dataclass(frozen=True)
class ProgressEntry:
    """A dated line of the progress column (進捗状況): what was done, and when.

    Attributes:
        day: when it was done (a month means its last day); a report as of an
            earlier date leaves it out.
        text: the evaluator's words.
        details: the lines under it (⇒ …, ・RFI 実施 …), each with its own date
            (the entry's unless it names one).
        line: the line of the plan file that defines it.
    """

    day: date
    text: str
    details: tuple[ProgressEntry, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class Indicator:
    """An activity (アウトプット) or outcome (アウトカム) indicator.

    Attributes:
        name: the indicator as the progress sheet words it.
        level: ``output`` or ``outcome``.
        kind: ``numeric`` (has a target and a source) or ``qualitative``.
        target: the numeric target (a rate as a fraction: 0.7 for 70%).
        comparison: how the actual value is compared with the target (``>=`` …).
        unit: the unit shown (``%``, ``時間``, ``所属`` …).
        source: a computed figure's name, or ``manual``.
        value: the value entered by hand (``source: manual``).
        value_date: the date that value was taken.
        status: a qualitative indicator's state as the evaluator wrote it (undated).
        note: free text shown with the indicator.
        survey: for a ``survey.*`` source, the survey it is computed from (its
            name or id); None lets the report find the survey of the period.
        figures: computed figures that show a qualitative indicator's progress
            (shown, not judged).
        heading: the words the progress column reports it under (default: its name).
        progress: the evaluator's dated words on its progress.
        line: the line of the plan file that defines it.
    """

    name: str
    level: str
    kind: str
    target: float | None = None
    comparison: str = ">="
    unit: str = ""
    source: str | None = None
    value: float | None = None
    value_date: date | None = None
    status: str = ""
    note: str = ""
    survey: str | None = None
    figures: tuple[str, ...] = ()
    heading: str = ""
    progress: tuple[ProgressEntry, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class Initiative:
    """One initiative of the plan (e.g. 音声認識技術の導入), in the sheet's three columns.

    ``what`` and ``milestones`` are 今年度何をするか, ``target_text`` and
    ``indicators`` 何をどのような状態にするか, ``progress`` 進捗状況.
    """

    key: str
    name: str
    what: str
    milestones: list[Milestone] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)
    target_text: str = ""
    progress: list[ProgressEntry] = field(default_factory=list)


@dataclass(frozen=True)
class Part:
    """A part of the sheet (庁内のＩＴ化推進) and its initiatives; '' names the one
    part of a plan in the first layout."""

    name: str
    initiatives: list[Initiative]


@dataclass(frozen=True)
class Plan:
    """The plan of one fiscal year.

    ``source`` names where it was read from, for messages: the file, or the
    version kept in the database (計画 令和元年度 第2版). ``theme`` is the
    sheet's heading (【テーマ１】行政のＩＴ化の推進), ``direction`` its めざす方向
    and ``goals`` its 中長期の目標・指標.
    """

    source: str
    fiscal_year: int
    title: str
    organisation: str
    parts: list[Part]
    theme: str = ""
    direction: str = ""
    goals: list[str] = field(default_factory=list)

    @property
    def initiatives(self) -> list[Initiative]:
        """Every initiative, part after part."""
        return [initiative for part in self.parts for initiative in part.initiatives]


# The fields each mapping of the plan may have. A plan in the first layout
# (``initiatives`` at the top) was read without this check, and still is, except
# for its indicators, which always had it.
_TOP_FIELDS = (
    "fiscal_year",
    "title",
    "organisation",
    "theme",
    "direction",
    "goals",
    "parts",
    "initiatives",
)
_PART_FIELDS = ("name", "initiatives")
_INITIATIVE_FIELDS = ("id", "name", "what", "schedule", "target", "indicators", "progress")
_MILESTONE_FIELDS = ("when", "until", "label", "done", "shown")
_ENTRY_FIELDS = ("date", "text", "details")
_INDICATOR_FIELDS = (
    "name",
    "level",
    "target",
    "comparison",
    "unit",
    "source",
    "value",
    "date",
    "status",
    "note",
    "survey",
    "figures",
    "heading",
    "progress",
)


class _Reader:
    """Walks the YAML node tree, so that every error can name its line."""

    def __init__(self, source: str, *, strict: bool = True) -> None:
        self.source = source
        self.strict = strict  # unknown fields are errors (all but the first layout's)

    def fail(self, node: Any, where: str, message: str) -> InputFileError:
        line = node.start_mark.line + 1 if node is not None else None
        return InputFileError(self.source, f"{where}: {message}", line=line)

    def mapping(
        self, node: Any, where: str, known: tuple[str, ...] | None = None
    ) -> dict[str, Any]:
        """A mapping's fields by name; with ``known``, any other field is an error."""
        import yaml

        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where, "キーと値の組（マッピング）で書いてください")
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in result:
                raise self.fail(key_node, where, f"「{key}」が二度書かれています")
            if known is not None and key not in known:
                raise self.fail(
                    key_node, f"{where}.{key}", f"知らない項目です（{', '.join(sorted(known))}）"
                )
            result[key] = value_node
        return result

    def sequence(self, node: Any, where: str) -> list[Any]:
        import yaml

        if node is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, where, "リスト（- で始まる行）で書いてください")
        return list(node.value)

    def scalar(self, node: Any, where: str) -> Any:
        import yaml

        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, where, "値を一つ書いてください")
        try:
            return yaml.safe_load(yaml.serialize(node))
        except ValueError:  # a value YAML takes for a date but cannot make (2019-02-30)
            return node.value

    def text(self, fields: dict[str, Any], name: str, where: str, *, required: bool = True) -> str:
        node = fields.get(name)
        if node is None:
            if required:
                raise self.fail(None, f"{where}.{name}", "必須です")
            return ""
        return self.text_of(node, f"{where}.{name}", required=required)

    def text_of(self, node: Any, where: str, *, required: bool = True) -> str:
        """A text value; a text over several lines keeps its line breaks."""
        value = self.scalar(node, where)
        if value is None or str(value).strip() == "":
            if required:
                raise self.fail(node, where, "空です")
            return ""
        return str(value).strip()

    def texts(self, fields: dict[str, Any], name: str, where: str) -> list[str]:
        """A list of texts (``goals``): each item one line of text."""
        return [
            self.text_of(node, f"{where}.{name}[{i}]")
            for i, node in enumerate(self.sequence(fields.get(name), f"{where}.{name}"))
        ]

    def number(self, fields: dict[str, Any], name: str, where: str) -> float | None:
        node = fields.get(name)
        if node is None:
            return None
        value = self.scalar(node, f"{where}.{name}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            text = str(value).strip()
            try:
                return float(text.rstrip("%")) / 100 if text.endswith("%") else float(text)
            except ValueError:
                raise self.fail(node, f"{where}.{name}", f"数値ではありません: {value}") from None
        return float(value)

    def day(self, node: Any, where: str, *, end: bool = False) -> date:
        value = self.scalar(node, where)
        text = str(value).strip()
        if len(text) == 7 and text[4] in "-/":  # a month: 2019-07
            import calendar as stdlib_calendar

            try:
                year, month = int(text[:4]), int(text[5:])
                last = stdlib_calendar.monthrange(year, month)[1]
                return date(year, month, last if end else 1)
            except ValueError:
                raise self.fail(node, where, f"年月として読めません: {text}") from None
        try:
            return parse_iso_or_japanese(value)
        except CalendarError as exc:
            raise self.fail(node, where, str(exc)) from None

    def known(self, names: tuple[str, ...]) -> tuple[str, ...] | None:
        """The fields a mapping may have, or None where unknown ones are let pass."""
        return names if self.strict else None


def read_plan_file(path: str | Path) -> str:
    """The text of a plan file (UTF-8, with or without BOM).

    Raises:
        InputFileError: the file is missing or not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "計画ファイルがありません")
    return decode_plan(path.read_bytes(), str(path))


def decode_plan(data: bytes, source: str) -> str:
    """The text of a plan from its bytes (UTF-8, with or without BOM).

    Raises:
        InputFileError: not UTF-8 (``source`` names the file in the message).
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(source, "UTF-8 で保存してください") from None


def load_plan(path: str | Path) -> Plan:
    """Read and check a plan file (YAML, UTF-8).

    Raises:
        InputFileError: the file is missing or not UTF-8, or its content is
            wrong (see :func:`parse_plan`).
    """
    return parse_plan(read_plan_file(path), str(path))


def parse_plan(text: str, source: str) -> Plan:
    """Check the text of a plan and read it.

    Two layouts are read: ``parts`` (each with its ``initiatives``) under the
    sheet's ``direction`` and ``goals``, and the first layout, ``initiatives``
    at the top (one part without a name).

    Args:
        text: the plan as YAML.
        source: what to call it in messages (the file name).

    Raises:
        InputFileError: not YAML, or a field is missing or wrong; the message
            names the field (``parts[0].initiatives[0].indicators[1].target``)
            and the line.
    """
    import yaml

    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputFileError(
            source, f"YAMLとして読めません（{getattr(exc, 'problem', exc)}）", line=line
        ) from None
    if root is None:
        raise InputFileError(source, "計画ファイルが空です")
    top = _Reader(source).mapping(root, "plan")
    first_layout = "parts" not in top and "initiatives" in top
    reader = _Reader(source, strict=not first_layout)
    reader.mapping(root, "plan", reader.known(_TOP_FIELDS))
    fy_node = top.get("fiscal_year")
    if fy_node is None:
        raise reader.fail(root, "fiscal_year", "必須です（例: fiscal_year: 2019）")
    fiscal_year = reader.scalar(fy_node, "fiscal_year")
    if not isinstance(fiscal_year, int) or fiscal_year not in FISCAL_YEARS:
        raise reader.fail(
            fy_node, "fiscal_year", f"年度を西暦で書いてください（例: 2019）: {fiscal_year}"
        )
    if "parts" in top and "initiatives" in top:
        raise reader.fail(
            top["initiatives"],
            "initiatives",
            "parts と一緒には書けません（取組は parts の各区分の initiatives に書きます）",
        )
    keys: set[str] = set()  # initiative ids, unique across parts
    if first_layout:
        parts = [Part("", _initiatives(reader, top, "", root, fiscal_year, keys))]
    else:
        parts = _parts(reader, top, root, fiscal_year, keys)
    return Plan(
        source=source,
        fiscal_year=fiscal_year,
        title=reader.text(top, "title", "plan", required=False) or "効果測定報告",
        organisation=reader.text(top, "organisation", "plan", required=False),
        parts=parts,
        theme=reader.text(top, "theme", "plan", required=False),
        direction=reader.text(top, "direction", "plan", required=False),
        goals=reader.texts(top, "goals", "plan"),
    )


def _parts(
    reader: _Reader, top: dict[str, Any], root: Any, fiscal_year: int, keys: set[str]
) -> list[Part]:
    nodes = reader.sequence(top.get("parts"), "parts")
    if not nodes:
        raise reader.fail(
            top.get("parts", root), "parts", "区分（庁内のＩＴ化推進 など）を一つ以上書いてください"
        )
    parts = []
    for p, node in enumerate(nodes):
        where = f"parts[{p}]"
        fields = reader.mapping(node, where, reader.known(_PART_FIELDS))
        name = reader.text(fields, "name", where)
        initiatives = _initiatives(reader, fields, f"{where}.", node, fiscal_year, keys)
        parts.append(Part(name, initiatives))
    return parts


def _initiatives(
    reader: _Reader,
    fields: dict[str, Any],
    prefix: str,
    owner: Any,
    fiscal_year: int,
    keys: set[str],
) -> list[Initiative]:
    where = f"{prefix}initiatives"
    nodes = reader.sequence(fields.get("initiatives"), where)
    if not nodes:
        raise reader.fail(fields.get("initiatives", owner), where, "取組を一つ以上書いてください")
    initiatives = []
    for i, node in enumerate(nodes):
        initiative = _initiative(reader, node, f"{where}[{i}]", fiscal_year)
        if initiative.key in keys:
            raise reader.fail(node, f"{where}[{i}].id", f"「{initiative.key}」が重複しています")
        keys.add(initiative.key)
        initiatives.append(initiative)
    return initiatives


def _initiative(reader: _Reader, node: Any, where: str, fiscal_year: int) -> Initiative:
    fields = reader.mapping(node, where, reader.known(_INITIATIVE_FIELDS))
    milestones = [
        _milestone(reader, m_node, f"{where}.schedule[{j}]")
        for j, m_node in enumerate(reader.sequence(fields.get("schedule"), f"{where}.schedule"))
    ]
    indicators = [
        _indicator(reader, i_node, f"{where}.indicators[{k}]", fiscal_year)
        for k, i_node in enumerate(reader.sequence(fields.get("indicators"), f"{where}.indicators"))
    ]
    return Initiative(
        key=reader.text(fields, "id", where),
        name=reader.text(fields, "name", where),
        what=reader.text(fields, "what", where),
        milestones=milestones,
        indicators=indicators,
        target_text=reader.text(fields, "target", where, required=False),
        progress=_entries(reader, fields, where, fiscal_year),
    )


def _milestone(reader: _Reader, node: Any, where: str) -> Milestone:
    m = reader.mapping(node, where, reader.known(_MILESTONE_FIELDS))
    when = m.get("when")
    if when is None:
        raise reader.fail(node, f"{where}.when", "必須です（例: when: 2019-07）")
    start_node, end_node = when, m.get("until", when)
    start = reader.day(start_node, f"{where}.when")
    end = reader.day(end_node, f"{where}.until", end=True)
    if end < start:
        raise reader.fail(end_node, f"{where}.until", "when より前です")
    done_node = m.get("done")
    done = None
    if done_node is not None:
        done = reader.scalar(done_node, f"{where}.done")
        if not isinstance(done, bool):
            raise reader.fail(done_node, f"{where}.done", "true か false で書いてください")
    return Milestone(
        start,
        end,
        reader.text(m, "label", where),
        done,
        reader.text(m, "shown", where, required=False),
    )


def _entries(
    reader: _Reader, fields: dict[str, Any], where: str, fiscal_year: int
) -> list[ProgressEntry]:
    """The dated entries of a ``progress`` list (an initiative's or an indicator's)."""
    return [
        _entry(reader, node, f"{where}.progress[{n}]", fiscal_year, None)
        for n, node in enumerate(reader.sequence(fields.get("progress"), f"{where}.progress"))
    ]


def _entry(
    reader: _Reader, node: Any, where: str, fiscal_year: int, inherited: date | None
) -> ProgressEntry:
    """One entry: ``{date, text, details}``; a detail may be its text alone (the entry's date)."""
    import yaml

    line = node.start_mark.line + 1
    if inherited is not None and isinstance(node, yaml.ScalarNode):
        return ProgressEntry(inherited, reader.text_of(node, where), line=line)
    fields = reader.mapping(node, where, _ENTRY_FIELDS)
    date_node = fields.get("date")
    if date_node is None and inherited is None:
        raise reader.fail(node, f"{where}.date", "必須です（いつのことか。例: date: 2019-07）")
    if date_node is None:
        day = inherited
    else:
        day = reader.day(date_node, f"{where}.date", end=True)
        start, end = fiscal_year_bounds(fiscal_year)
        if not start <= day <= end:
            raise reader.fail(
                date_node,
                f"{where}.date",
                f"{format_fiscal_year(fiscal_year)}（{start.isoformat()}〜{end.isoformat()}）"
                f"の日付ではありません: {day.isoformat()}",
            )
    assert day is not None
    details = tuple(
        _entry(reader, d_node, f"{where}.details[{k}]", fiscal_year, day)
        for k, d_node in enumerate(reader.sequence(fields.get("details"), f"{where}.details"))
    )
    return ProgressEntry(day, reader.text(fields, "text", where), details, line)


def _figures(reader: _Reader, fields: dict[str, Any], where: str) -> tuple[str, ...]:
    names = []
    for n, node in enumerate(reader.sequence(fields.get("figures"), f"{where}.figures")):
        name = reader.text_of(node, f"{where}.figures[{n}]")
        if name not in COMPUTED_SOURCES:
            raise reader.fail(
                node,
                f"{where}.figures[{n}]",
                f"知らない集計値です: {name}（{', '.join(COMPUTED_SOURCES)}）",
            )
        names.append(name)
    return tuple(names)


def _indicator(reader: _Reader, node: Any, where: str, fiscal_year: int) -> Indicator:
    fields = reader.mapping(node, where, _INDICATOR_FIELDS)
    level = reader.text(fields, "level", where)
    if level not in LEVELS:
        raise reader.fail(
            fields["level"], f"{where}.level", "output（アウトプット）か outcome（アウトカム）です"
        )
    target = reader.number(fields, "target", where)
    source = reader.text(fields, "source", where, required=False) or None
    comparison = reader.text(fields, "comparison", where, required=False) or ">="
    if comparison not in COMPARISONS:
        raise reader.fail(
            fields["comparison"], f"{where}.comparison", f"{' '.join(COMPARISONS)} のいずれかです"
        )
    if source is not None and source != "manual" and source not in COMPUTED_SOURCES:
        raise reader.fail(
            fields["source"],
            f"{where}.source",
            f"知らない集計値です: {source}（manual または {', '.join(COMPUTED_SOURCES)}）",
        )
    value = reader.number(fields, "value", where)
    value_date = reader.day(fields["date"], f"{where}.date") if "date" in fields else None
    if source == "manual" and value is None:
        raise reader.fail(
            node, f"{where}.value", "source: manual には value（手入力の実績値）が必要です"
        )
    if source == "manual" and value_date is None:
        raise reader.fail(node, f"{where}.date", "手入力の実績値には date（時点）が必要です")
    if source == "manual" and target is None:
        raise reader.fail(
            fields["source"], f"{where}.target", "手入力の実績値には target（目標）が必要です"
        )
    if target is not None and source is None:
        raise reader.fail(
            fields["target"], f"{where}.source", "数値目標には source（実績値の出どころ）が必要です"
        )
    figures = _figures(reader, fields, where)
    if figures and target is not None:
        raise reader.fail(
            fields["figures"],
            f"{where}.figures",
            "figures（実績を示す集計値）は目標のない指標に書きます（数値目標の実績は source）",
        )
    if source is not None and target is None:
        # A computed figure without a target is shown, not judged: one of its figures.
        figures, source = (source, *figures), None
    survey = reader.text(fields, "survey", where, required=False) or None
    if survey is not None and not any(
        name.startswith("survey.") for name in (source or "", *figures)
    ):
        raise reader.fail(
            fields["survey"],
            f"{where}.survey",
            "survey（調査名）は source か figures が survey. で始まる指標にだけ書けます",
        )
    unit = reader.text(fields, "unit", where, required=False)
    if not unit and source in COMPUTED_SOURCES:
        unit = COMPUTED_SOURCES[source].unit
    return Indicator(
        name=reader.text(fields, "name", where),
        level=level,
        kind="numeric" if target is not None else "qualitative",
        target=target,
        comparison=comparison,
        unit=unit,
        source=source,
        value=value,
        value_date=value_date,
        status=reader.text(fields, "status", where, required=False),
        note=reader.text(fields, "note", where, required=False),
        survey=survey,
        figures=figures,
        heading=reader.text(fields, "heading", where, required=False),
        progress=tuple(_entries(reader, fields, where, fiscal_year)),
        line=node.start_mark.line + 1,
    )


MilestoneState = Literal["完了", "実施中", "未着手"]


def milestone_state(milestone: Milestone, as_of: date) -> MilestoneState:
    """The state of a milestone on the as-of date.

    Rule: a step that starts after the as-of date is 未着手, whatever the plan
    says (a report as of September cannot show February's step done).
    Otherwise the evaluator's ``done`` wins when given (True → 完了, False →
    実施中); without it a step whose last day has passed is 完了 and one that
    has begun is 実施中.
    """
    if milestone.start > as_of:
        return "未着手"
    if milestone.done is True:
        return "完了"
    if milestone.done is False or milestone.end > as_of:
        return "実施中"
    return "完了"


def done_by(entries: Sequence[ProgressEntry], as_of: date) -> list[ProgressEntry]:
    """The entries done by the as-of date, each with the details done by then.

    Rule: an entry counts from its date (a month from its last day); a report
    as of an earlier date shows neither it nor its details.
    """
    return [
        replace(entry, details=tuple(d for d in entry.details if d.day <= as_of))
        for entry in entries
        if entry.day <= as_of
    ]
