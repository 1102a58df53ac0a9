"""The plan file (YAML): the year's initiatives, their schedule, indicators and targets.

It describes the progress sheet the evaluators fill in: for each initiative
今年度何をするか (what is done this year, with its schedule), 何をどのような
状態にするか (targets: activity indicators アウトプット and outcome indicators
アウトカム, each qualitative or numeric) and, for each numeric indicator, where
its actual value comes from — a figure pilots computes (``asr.departments_using``
…) or a value entered by hand with its date. Every error names the field and
the line of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pilots.calendar import FISCAL_YEARS, parse_iso_or_japanese
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
    """A step of the year's schedule (e.g. 7月 初回利用).

    Attributes:
        start: first day of the step (a month means its first day).
        end: last day of the step (a month means its last day).
        label: what happens.
        done: the evaluator's own statement that it is done (True) or not
            (False); None lets the date decide.
    """

    start: date
    end: date
    label: str
    done: bool | None = None


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
        status: a qualitative indicator's state as the evaluator wrote it.
        note: free text shown with the indicator.
        survey: for a ``survey.*`` source, the survey it is computed from (its
            name or id); None lets the report find the survey of the period.
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
    line: int = 0


@dataclass(frozen=True)
class Initiative:
    """One initiative of the plan (e.g. 音声認識技術の導入)."""

    key: str
    name: str
    what: str
    milestones: list[Milestone] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)
    target_text: str = ""


@dataclass(frozen=True)
class Plan:
    """The plan of one fiscal year.

    ``source`` names where it was read from, for messages: the file, or the
    version kept in the database (計画 令和元年度 第2版).
    """

    source: str
    fiscal_year: int
    title: str
    organisation: str
    initiatives: list[Initiative]


class _Reader:
    """Walks the YAML node tree, so that every error can name its line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: Any, where: str, message: str) -> InputFileError:
        line = node.start_mark.line + 1 if node is not None else None
        return InputFileError(self.source, f"{where}: {message}", line=line)

    def mapping(self, node: Any, where: str) -> dict[str, Any]:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where, "キーと値の組（マッピング）で書いてください")
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in result:
                raise self.fail(key_node, where, f"「{key}」が二度書かれています")
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
        return yaml.safe_load(yaml.serialize(node))

    def text(self, fields: dict[str, Any], name: str, where: str, *, required: bool = True) -> str:
        node = fields.get(name)
        if node is None:
            if required:
                raise self.fail(None, f"{where}.{name}", "必須です")
            return ""
        value = self.scalar(node, f"{where}.{name}")
        if value is None or str(value).strip() == "":
            if required:
                raise self.fail(node, f"{where}.{name}", "空です")
            return ""
        return str(value).strip()

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

    Args:
        text: the plan as YAML.
        source: what to call it in messages (the file name).

    Raises:
        InputFileError: not YAML, or a field is missing or wrong; the message
            names the field (``initiatives[0].indicators[1].target``) and the line.
    """
    import yaml

    reader = _Reader(source)
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
    top = reader.mapping(root, "plan")
    fy_node = top.get("fiscal_year")
    if fy_node is None:
        raise reader.fail(root, "fiscal_year", "必須です（例: fiscal_year: 2019）")
    fiscal_year = reader.scalar(fy_node, "fiscal_year")
    if not isinstance(fiscal_year, int) or fiscal_year not in FISCAL_YEARS:
        raise reader.fail(
            fy_node, "fiscal_year", f"年度を西暦で書いてください（例: 2019）: {fiscal_year}"
        )
    initiatives = []
    keys: set[str] = set()
    for i, node in enumerate(reader.sequence(top.get("initiatives"), "initiatives")):
        initiative = _initiative(reader, node, f"initiatives[{i}]")
        if initiative.key in keys:
            raise reader.fail(node, f"initiatives[{i}].id", f"「{initiative.key}」が重複しています")
        keys.add(initiative.key)
        initiatives.append(initiative)
    if not initiatives:
        raise reader.fail(root, "initiatives", "取組を一つ以上書いてください")
    return Plan(
        source=source,
        fiscal_year=fiscal_year,
        title=reader.text(top, "title", "plan", required=False) or "効果測定報告",
        organisation=reader.text(top, "organisation", "plan", required=False),
        initiatives=initiatives,
    )


def _initiative(reader: _Reader, node: Any, where: str) -> Initiative:
    fields = reader.mapping(node, where)
    milestones = []
    for j, m_node in enumerate(reader.sequence(fields.get("schedule"), f"{where}.schedule")):
        m_where = f"{where}.schedule[{j}]"
        m = reader.mapping(m_node, m_where)
        when = m.get("when")
        if when is None:
            raise reader.fail(m_node, f"{m_where}.when", "必須です（例: when: 2019-07）")
        start_node, end_node = when, m.get("until", when)
        start = reader.day(start_node, f"{m_where}.when")
        end = reader.day(end_node, f"{m_where}.until", end=True)
        if end < start:
            raise reader.fail(end_node, f"{m_where}.until", "when より前です")
        done_node = m.get("done")
        done = None
        if done_node is not None:
            done = reader.scalar(done_node, f"{m_where}.done")
            if not isinstance(done, bool):
                raise reader.fail(done_node, f"{m_where}.done", "true か false で書いてください")
        milestones.append(Milestone(start, end, reader.text(m, "label", m_where), done))
    indicators = [
        _indicator(reader, i_node, f"{where}.indicators[{k}]")
        for k, i_node in enumerate(reader.sequence(fields.get("indicators"), f"{where}.indicators"))
    ]
    return Initiative(
        key=reader.text(fields, "id", where),
        name=reader.text(fields, "name", where),
        what=reader.text(fields, "what", where),
        milestones=milestones,
        indicators=indicators,
        target_text=reader.text(fields, "target", where, required=False),
    )


def _indicator(reader: _Reader, node: Any, where: str) -> Indicator:
    fields = reader.mapping(node, where)
    known = {
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
    }
    for key, value_node in fields.items():
        if key not in known:
            raise reader.fail(
                value_node, f"{where}.{key}", f"知らない項目です（{', '.join(sorted(known))}）"
            )
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
    if target is not None and source is None:
        raise reader.fail(
            fields["target"], f"{where}.source", "数値目標には source（実績値の出どころ）が必要です"
        )
    survey = reader.text(fields, "survey", where, required=False) or None
    if survey is not None and not (source or "").startswith("survey."):
        raise reader.fail(
            fields["survey"],
            f"{where}.survey",
            "survey（調査名）は source が survey. で始まる指標にだけ書けます",
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
