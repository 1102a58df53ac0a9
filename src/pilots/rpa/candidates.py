"""Candidate tasks for next year's RPA (追加適用候補となる業務の選定) from a work survey.

Each row of the survey (業務量調査) is one business task: its name,
department, annual cases and minutes per case, and yes/no answers on whether
it suits a bot. Columns (English or Japanese header):

=====================  ================================  ============================
column                 Japanese                          content
=====================  ================================  ============================
task_id                業務ID                             optional: the task's id for --select
task                   業務名                             required
department             所属                               required
annual_cases           年間件数                           required, ≥ 0
minutes_per_case       1件あたり時間(分)                  required, ≥ 0
rule_based             ルール化 / 判断を伴わない           はい / いいえ (optional column)
digital_input          電子データ / 入力が電子データ        はい / いいえ (optional column)
stable_procedure       手順が安定                          はい / いいえ (optional column)
=====================  ================================  ============================

Any other column whose header starts with ``適性:`` (or ``suitability:``) is
one more yes/no criterion. Answers: はい/いいえ, yes/no, y/n, ○/×, 可/否,
true/false, 1/0, あり/なし; blank is "not answered".

The rule::

    annual_hours            = annual_cases × minutes_per_case ÷ 60
    expected_hours_reduced  = annual_hours × rate     (rate: the plan's target, 0.80, unless given)

A task with any "no" answer is excluded, with the criteria it failed; a task
already in the RPA task catalog (same name after NFKC) is excluded as
already automated. The rest are ranked by expected hours reduced; a
candidate with unanswered criteria stays ranked and lists them.

A task is known by its 業務ID, or by its 業務名 where the survey has no id
(its 業務名（所属） where two rows share a name). With ``keep`` the survey's
tasks, ranked and excluded, are kept in the database (:class:`RpaSurveyTask`,
replacing the survey kept before), so that next year's tasks can be chosen
from them (:mod:`pilots.rpa.selection`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from pilots.errors import InputFileError
from pilots.org import DepartmentResolver
from pilots.tables import RpaSurveyTask, RpaTask
from pilots.tabular import Column, Row, read_table
from pilots.text import normalize_name

TASK_ID = Column("task_id", ("業務ID", "業務番号"), required=False)
SURVEY_COLUMNS = (
    Column("task", ("業務名", "業務")),
    Column("department", ("所属", "所属名")),
    Column("annual_cases", ("年間件数", "年間処理件数", "件数(年間)")),
    Column(
        "minutes_per_case",
        ("1件あたり時間(分)", "1件あたり処理時間(分)", "処理時間(分/件)", "手作業時間(分/件)"),
    ),
)
CRITERIA: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (label shown in reasons, header aliases)
    "rule_based": ("ルール化できる", ("ルール化", "ルール化できる", "判断を伴わない", "定型")),
    "digital_input": (
        "入力が電子データ",
        ("電子データ", "入力が電子データ", "デジタル入力", "入力データが電子化"),
    ),
    "stable_procedure": ("手順が安定", ("手順が安定", "手順の安定", "手順が定まっている")),
}
_CRITERION_PREFIXES = ("適性:", "suitability:")
_YES = {"はい", "yes", "y", "○", "〇", "◯", "可", "true", "1", "あり", "有"}
_NO = {"いいえ", "no", "n", "×", "✕", "x", "否", "不可", "false", "0", "なし", "無"}


@dataclass(frozen=True)
class Candidate:
    """A task suited to RPA, ranked by the hours a bot could remove each year."""

    rank: int
    task_id: str
    task: str
    department: str
    annual_cases: float
    minutes_per_case: float
    annual_hours: float
    expected_hours_reduced: float
    unanswered: list[str]
    line: int


@dataclass(frozen=True)
class ExcludedTask:
    """A task left out, and why."""

    task_id: str
    task: str
    department: str
    annual_hours: float
    reasons: list[str]
    line: int


@dataclass
class CandidateResult:
    """``pilots rpa candidates``: the ranking and the exclusions."""

    file: str
    rate: float
    rule: str
    criteria: list[str]
    candidates: list[Candidate] = field(default_factory=list)
    excluded: list[ExcludedTask] = field(default_factory=list)
    expected_hours_reduced: float = 0.0
    departments: int = 0


def _answer(path: str | Path, row: Row, name: str, label: str) -> bool | None:
    text = normalize_name(row.text(name)).lower()
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise InputFileError(
        path,
        f"はい／いいえで答えてください: {row.text(name)}",
        line=row.line,
        column=label,
    )


def rank_candidates(
    path: str | Path,
    *,
    rate: float = 0.80,
    session: Session | None = None,
    top: int | None = None,
    keep: bool = False,
) -> CandidateResult:
    """Rank a work survey's tasks by the annual hours automation could remove.

    Args:
        path: the survey (CSV or xlsx).
        rate: the share of a task's hand-work hours a bot is expected to
            remove (the plan's target reduction rate by default).
        session: when given, tasks already in the RPA task catalog are excluded.
        top: keep only the best ``top`` candidates (the rest are not listed).
        keep: keep every task of the survey in the database (needs ``session``).

    Raises:
        InputFileError: a missing column, a missing or negative number, an
            answer that is neither yes nor no, a task id twice (the row and
            column are named).
    """
    table = read_table(path, header_hint=SURVEY_COLUMNS)
    columns = [*SURVEY_COLUMNS, TASK_ID]
    labels: dict[str, str] = {}
    for name, (label, aliases) in CRITERIA.items():
        column = Column(name, aliases, required=False)
        if any(column.matches(h) for h in table.header):
            columns.append(column)
            labels[name] = label
    for header in table.header:
        key = normalize_name(header).lower()
        for prefix in _CRITERION_PREFIXES:
            if key.startswith(prefix) and key[len(prefix) :].strip():
                extra = f"criterion:{header}"
                columns.append(Column(extra, (header,), required=False))
                labels[extra] = normalize_name(header)[len(prefix) :].strip()
    automated: dict[str, str] = {}
    if session is not None:
        automated = {
            normalize_name(name): task_id
            for name, task_id in session.execute(select(RpaTask.task_name, RpaTask.task_id))
        }
    result = CandidateResult(
        file=str(path),
        rate=rate,
        rule=(
            "年間時間 = 年間件数 × 1件あたり時間(分) ÷ 60。"
            f"見込み削減時間 = 年間時間 × {rate:.0%}。"
            "適性の質問に「いいえ」が1つでもある業務と、RPA適用済みの業務は除きます。"
        ),
        criteria=list(labels.values()),
    )
    ranked: list[tuple[float, int, Candidate]] = []
    refs: dict[str, int] = {}
    for row in table.mapped(columns):
        task = row.text("task")
        department = row.text("department")
        if not task:
            raise InputFileError(path, "業務名が空です", line=row.line, column="業務名")
        if not department:
            raise InputFileError(path, "所属が空です", line=row.line, column="所属")
        ref = _task_ref(path, row, refs)
        cases = row.number(path, "annual_cases", "年間件数")
        minutes = row.number(path, "minutes_per_case", "1件あたり時間(分)")
        hours = cases * minutes / 60
        reasons: list[str] = []
        unanswered: list[str] = []
        for name, label in labels.items():
            answer = _answer(path, row, name, label)
            if answer is False:
                reasons.append(f"{label}: いいえ")
            elif answer is None:
                unanswered.append(label)
        task_id = automated.get(normalize_name(task))
        if task_id is not None:
            reasons.append(f"RPA適用済み（業務ID {task_id}）")
        if reasons:
            result.excluded.append(
                ExcludedTask(ref, task, department, round(hours, 6), reasons, row.line)
            )
            continue
        candidate = Candidate(
            0,
            ref,
            task,
            department,
            cases,
            minutes,
            round(hours, 6),
            round(hours * rate, 6),
            unanswered,
            row.line,
        )
        ranked.append((-hours, row.line, candidate))
    ranked.sort(key=lambda item: (item[0], item[1]))
    every = [replace(c, rank=i) for i, (_h, _l, c) in enumerate(ranked, start=1)]
    if keep:
        assert session is not None
        _keep(session, path, every, result.excluded)
    result.candidates = every if top is None else every[:top]
    result.expected_hours_reduced = round(
        sum(c.expected_hours_reduced for c in result.candidates), 6
    )
    result.departments = len({normalize_name(c.department) for c in result.candidates})
    return result


def _task_ref(path: str | Path, row: Row, refs: dict[str, int]) -> str:
    """The id a task is chosen by: its 業務ID, else its 業務名 (業務名（所属） when taken)."""
    given = row.text("task_id")
    ref = given or normalize_name(row.text("task"))
    if ref in refs and not given:
        ref = f"{ref}（{normalize_name(row.text('department'))}）"
    if ref in refs:
        raise InputFileError(
            path, f"業務 {ref} が{refs[ref]}行目と重複しています", line=row.line, column="業務ID"
        )
    refs[ref] = row.line
    return ref[:300]


def _keep(
    session: Session,
    path: str | Path,
    ranked: list[Candidate],
    excluded: list[ExcludedTask],
) -> None:
    """Keep the survey's tasks, replacing the survey kept before."""
    session.execute(delete(RpaSurveyTask))
    resolve = DepartmentResolver(session, created_by="rpa survey")
    rows = [
        (
            c.task_id,
            c.task,
            c.department,
            c.annual_hours,
            c.expected_hours_reduced,
            c.rank,
            "",
            c.line,
        )
        for c in ranked
    ] + [
        (e.task_id, e.task, e.department, e.annual_hours, 0.0, None, "、".join(e.reasons), e.line)
        for e in excluded
    ]
    for ref, name, department, hours, expected, rank, reasons, line in rows:
        session.add(
            RpaSurveyTask(
                task_ref=ref,
                task_name=name[:300],
                department=resolve(department),
                annual_hours=hours,
                expected_hours=expected,
                rank=rank,
                reasons=reasons,
                source_file=Path(path).name[:500],
                line=line,
            )
        )
    session.flush()


@dataclass(frozen=True)
class KeptTask:
    """A task of the kept work survey, as the RPA page offers it for next year's choice."""

    task_id: str
    task: str
    department: str
    rank: int | None
    annual_hours: float
    expected_hours_reduced: float
    reasons: str
    source_file: str


def kept_survey(session: Session) -> list[KeptTask]:
    """The tasks of the survey last ranked with ``keep``: the ranked by rank, then the excluded."""
    tasks = session.scalars(
        select(RpaSurveyTask)
        .options(selectinload(RpaSurveyTask.department))
        .order_by(RpaSurveyTask.rank.is_(None), RpaSurveyTask.rank, RpaSurveyTask.line)
    )
    return [
        KeptTask(
            t.task_ref,
            t.task_name,
            t.department.name,
            t.rank,
            t.annual_hours,
            t.expected_hours,
            t.reasons,
            t.source_file,
        )
        for t in tasks
    ]
