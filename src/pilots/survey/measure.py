"""The satisfaction rate of a survey, its Wilson interval, and the target check (SPEC §5).

The rules, exactly as SPEC §5 states them::

    valid               = rows with a recognised scale answer
    satisfied           = 大変満足 + 満足            (top-2 box)
    satisfaction_rate   = satisfied / valid
    ci95                = Wilson score interval, 95% (z = 1.959964)
    met                 = satisfaction_rate ≥ target (0.70 by default)
    met_with_confidence = lower end of ci95 ≥ target

Non-responses (blank, 無回答, 未回答, 該当なし) and unrecognised answers are
not valid; they are counted and listed, never dropped silently. With no
valid answer there is no rate, and ``met`` is None (still being measured).

An interim summary (``as_of``) counts only the responses completed on or
before the end of that day; the later ones are counted in
``responses_after_as_of``. A report's summary also starts at the period's
first day (``start``): a survey counts in the fiscal year its answers were
completed in, and earlier answers are counted in ``responses_before_start``.
A response without a completion time (the export had none, or it could not
be read) cannot be placed and is always counted.

The module also keeps the list of surveys: which there are, which were
answered in a period (:func:`surveys_in_period`), and deleting one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from pilots.errors import ConfigError, NotFoundError
from pilots.figures import Exclusion
from pilots.org import UNKNOWN_DEPARTMENT
from pilots.survey.scale import NON_RESPONSE, SATISFIED, SCALE, UNRECOGNISED, VALID
from pilots.tables import Department, Survey, SurveyResponse
from pilots.text import normalize_name

Z95 = 1.959964
"""The normal quantile for a two-sided 95% interval."""


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``successes / n``.

    ``(p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)``. Unlike the normal
    approximation it stays inside [0, 1] and behaves for small n and for p
    near 0 or 1. 26 of 31 gives about (0.674, 0.929).

    Raises:
        ValueError: ``n`` is not positive or ``successes`` is outside 0..n.
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"wilson_interval needs 0 <= successes <= n, n > 0 ({successes}/{n})")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At p = 0 or 1 one end is exactly 0 or 1; say so rather than 0.9999999999999999.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class DepartmentSatisfaction:
    """One department's answers (所属不明 for respondents who gave none)."""

    department: str
    responses: int
    valid: int
    satisfied: int
    satisfaction_rate: float | None


@dataclass(frozen=True)
class Comment:
    """A free-text answer, verbatim (untrusted: escape it wherever it is shown)."""

    line: int
    department: str
    answer: str | None
    question: str
    text: str


# What a person reads for each kind of row that is not a valid answer.
EXCLUDED_LABELS = {NON_RESPONSE: "無回答", UNRECOGNISED: "5段階にない回答"}


@dataclass(frozen=True)
class ExcludedResponse:
    """A row that is not a valid answer: a non-response or an unrecognised answer."""

    line: int
    department: str
    status: str
    answer_raw: str

    @property
    def label(self) -> str:
        """The kind of the row in Japanese (無回答, 5段階にない回答)."""
        return EXCLUDED_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class SurveySummary:
    """The satisfaction figures of one survey, with their rule and denominator.

    Attributes:
        survey / question: the survey's name and the header of its 5-point question.
        responses: rows imported (every respondent).
        valid: rows with a scale answer (the denominator).
        non_responses / unrecognised: the rows that are not valid, by kind.
        satisfied: 大変満足 + 満足.
        satisfaction_rate: satisfied / valid, None when valid is 0.
        ci95: the Wilson 95% interval [low, high], None when valid is 0.
        target: the target rate (setting ``satisfaction_target`` or ``--target``;
            a report passes its plan's), None when there is none to compare with.
        met: rate ≥ target; None when there is no valid answer yet or no target.
        met_with_confidence: ci95's lower end ≥ target; None likewise.
        distribution: answers per scale label, best first.
        by_department: the same figures per department.
        comments: every free-text comment, verbatim.
        excluded: every row that is not valid, with its line and raw answer.
        as_of: the cut-off day, None when every response counts.
        responses_after_as_of: responses completed after ``as_of`` and left
            out of every figure above (0 without ``as_of``).
        start: the first day counted, None when every earlier response counts.
        responses_before_start: responses completed before ``start``, left out
            likewise (0 without ``start``).
        rules: each figure's rule, in Japanese.
    """

    survey: str
    question: str
    responses: int
    valid: int
    non_responses: int
    unrecognised: int
    satisfied: int
    satisfaction_rate: float | None
    ci95: tuple[float, float] | None
    target: float | None
    met: bool | None
    met_with_confidence: bool | None
    distribution: dict[str, int]
    by_department: list[DepartmentSatisfaction]
    comments: list[Comment]
    excluded: list[ExcludedResponse]
    as_of: date | None
    responses_after_as_of: int
    start: date | None
    responses_before_start: int
    rules: dict[str, str]

    @property
    def exclusions(self) -> list[Exclusion]:
        """The rows left out of the figures, by fixed key, with their label and treatment."""
        return [
            Exclusion("non_responses", "無回答", self.non_responses, "有効回答（分母）に含めない"),
            Exclusion(
                "unrecognised",
                EXCLUDED_LABELS[UNRECOGNISED],
                self.unrecognised,
                "有効回答（分母）に含めない",
            ),
            Exclusion(
                "responses_outside_period",
                "期間外に完了した回答",
                self.responses_before_start + self.responses_after_as_of,
                "対象期間の前または基準日より後に完了した回答は数えない",
            ),
        ]


def list_surveys(session: Session) -> list[str]:
    """The names of the imported surveys."""
    return list(session.scalars(select(Survey.name).order_by(Survey.name)))


def find_survey(session: Session, name: str | None) -> Survey:
    """The survey called ``name`` (or with that id), or the only survey when ``name`` is None.

    Raises:
        NotFoundError: no survey has been imported, or none is called ``name``.
        ConfigError: ``name`` is None and there are several surveys.
    """
    if name is not None:
        found = session.scalar(select(Survey).where(Survey.name == normalize_name(name)))
        if found is None and normalize_name(name).isdigit():
            found = session.get(Survey, int(normalize_name(name)))
        if found is None:
            names = "、".join(list_surveys(session)) or "なし"
            raise NotFoundError(
                f"調査「{normalize_name(name)}」はありません（取り込み済み: {names}）"
            )
        return found
    surveys = list(session.scalars(select(Survey).order_by(Survey.name)))
    if not surveys:
        raise NotFoundError("満足度調査はまだ取り込まれていません（pilots survey import FILE）")
    if len(surveys) > 1:
        raise ConfigError(
            "--survey",
            "調査が複数あります: " + "、".join(s.name for s in surveys) + "。1つ選んでください",
        )
    return surveys[0]


def summarize_survey(
    session: Session,
    name: str | None,
    *,
    target: float | None,
    as_of: date | None = None,
    start: date | None = None,
) -> SurveySummary:
    """Compute a survey's satisfaction figures by the rules of SPEC §5.

    With ``as_of`` only the responses completed by the end of that day (and
    those without a completion time) count; with ``start`` only those
    completed on or after that day (and those without a time); see the module
    docstring.

    Raises:
        ConfigError: ``target`` is not in (0, 1], or several surveys and no name.
        NotFoundError: the survey does not exist.
    """
    if target is not None and not (math.isfinite(target) and 0 < target <= 1):
        raise ConfigError("--target", f"目標値は0より大きく1以下で指定してください: {target:g}")
    survey = find_survey(session, name)
    rows = session.execute(
        select(
            SurveyResponse.line,
            SurveyResponse.status,
            SurveyResponse.answer,
            SurveyResponse.answer_raw,
            SurveyResponse.comments,
            SurveyResponse.department_id,
            Department.name,
            Department.code,
            SurveyResponse.completed_at,
        )
        .outerjoin(Department, SurveyResponse.department_id == Department.id)
        .where(SurveyResponse.survey_id == survey.id)
        .order_by(SurveyResponse.import_file, SurveyResponse.line, SurveyResponse.id)
    ).all()
    # Before the next day's midnight: a completion at 23:59:59.5 is still that day.
    cutoff = None if as_of is None else datetime.combine(as_of + timedelta(days=1), time())
    first = None if start is None else datetime.combine(start, time())
    earlier = later = 0
    counted = []
    for row in rows:
        completed = row[-1]
        if completed is not None and first is not None and completed < first:
            earlier += 1
        elif completed is not None and cutoff is not None and completed >= cutoff:
            later += 1
        else:
            counted.append(row)
    undated = sum(1 for r in counted if r[-1] is None)

    distribution = dict.fromkeys(SCALE, 0)
    comments: list[Comment] = []
    excluded: list[ExcludedResponse] = []
    per_dept: dict[int | None, list[int]] = {}  # [responses, valid, satisfied]
    dept_names: dict[int | None, tuple[bool, str, str]] = {None: (True, "", UNKNOWN_DEPARTMENT)}
    for line, status, answer, raw, comment_json, dept_id, dept_name, dept_code, _ in counted:
        label = dept_name or UNKNOWN_DEPARTMENT
        dept_names.setdefault(dept_id, (dept_code is None, dept_code or "", label))
        counts = per_dept.setdefault(dept_id, [0, 0, 0])
        counts[0] += 1
        if status == VALID and answer in distribution:
            distribution[answer] += 1
            counts[1] += 1
            counts[2] += answer in SATISFIED
        else:
            excluded.append(ExcludedResponse(line, label, status, raw))
        for item in json.loads(comment_json or "[]"):
            comments.append(Comment(line, label, answer, item["question"], item["text"]))

    valid = sum(distribution.values())
    satisfied = sum(distribution[a] for a in SATISFIED)
    rate = satisfied / valid if valid else None
    ci95 = wilson_interval(satisfied, valid) if valid else None
    met = None if rate is None or target is None else rate >= target
    met_ci = None if ci95 is None or target is None else ci95[0] >= target
    by_department = [
        DepartmentSatisfaction(
            department=dept_names[d][2],
            responses=c[0],
            valid=c[1],
            satisfied=c[2],
            satisfaction_rate=c[2] / c[1] if c[1] else None,
        )
        for d, c in sorted(
            per_dept.items(), key=lambda item: (item[0] is None, dept_names[item[0]])
        )
    ]
    non_responses = sum(1 for e in excluded if e.status == NON_RESPONSE)
    unrecognised = sum(1 for e in excluded if e.status == UNRECOGNISED)
    rules = {
        "valid": (
            f"5段階の回答がある行 {valid}件（全{len(counted)}件のうち、無回答 {non_responses}件"
            f"と5段階にない回答 {unrecognised}件を除く）"
        ),
        "satisfaction_rate": f"（大変満足 + 満足）{satisfied}件 ÷ 有効回答 {valid}件",
        "ci95": "Wilson スコア区間（95%、z = 1.959964）",
        "as_of": _window_rule(start, as_of, earlier, later, undated),
    }
    if target is not None:
        rules["met"] = f"満足度 ≥ 目標 {target:.0%}"
        rules["met_with_confidence"] = f"95%信頼区間の下限 ≥ 目標 {target:.0%}"
    return SurveySummary(
        survey=survey.name,
        question=survey.question,
        responses=len(counted),
        valid=valid,
        non_responses=non_responses,
        unrecognised=unrecognised,
        satisfied=satisfied,
        satisfaction_rate=rate,
        ci95=ci95,
        target=target,
        met=met,
        met_with_confidence=met_ci,
        distribution=distribution,
        by_department=by_department,
        comments=comments,
        excluded=excluded,
        as_of=as_of,
        responses_after_as_of=later,
        start=start,
        responses_before_start=earlier,
        rules=rules,
    )


def _window_rule(
    start: date | None, as_of: date | None, earlier: int, later: int, undated: int
) -> str:
    if start is None and as_of is None:
        return "期日の指定なし: 取り込んだ回答をすべて数える"
    parts = []
    if start is not None:
        parts.append(f"{start.isoformat()} 以降")
    if as_of is not None:
        parts.append(f"{as_of.isoformat()} の終わりまで")
    left_out = []
    if start is not None:
        left_out.append(f"それより前に完了した{earlier}件")
    if as_of is not None:
        left_out.append(f"それより後に完了した{later}件")
    return (
        f"{'、'.join(parts)}に完了した回答を数える（{'と'.join(left_out)}を除く。"
        f"完了時刻のない回答 {undated}件は常に数える）"
    )


@dataclass(frozen=True)
class SurveyInPeriod:
    """A survey with answers in a period: how many, and when they were completed.

    ``undated`` answers have no completion time, so they may belong to any
    period; ``first`` / ``last`` span the dated answers in the period.
    """

    survey_id: int
    name: str
    responses: int
    undated: int
    first: date | None
    last: date | None


def surveys_in_period(session: Session, start: date, end: date) -> list[SurveyInPeriod]:
    """The surveys with answers completed from ``start`` to the end of ``end`` (or undated).

    A survey counts in the period its answers were completed in: one whose
    answers all lie in another year is not listed.
    """
    low = datetime.combine(start, time())
    high = datetime.combine(end + timedelta(days=1), time())
    in_window = (SurveyResponse.completed_at >= low) & (SurveyResponse.completed_at < high)
    undated = SurveyResponse.completed_at.is_(None)
    rows = session.execute(
        select(
            Survey.id,
            Survey.name,
            func.count(SurveyResponse.id),
            func.sum(case((undated, 1), else_=0)),
            func.min(SurveyResponse.completed_at),
            func.max(SurveyResponse.completed_at),
        )
        .join(SurveyResponse, SurveyResponse.survey_id == Survey.id)
        .where(in_window | undated)
        .group_by(Survey.id, Survey.name)
        .order_by(Survey.name)
    ).all()
    return [
        SurveyInPeriod(
            survey_id=survey_id,
            name=name,
            responses=int(count),
            undated=int(no_time or 0),
            first=first.date() if first is not None else None,
            last=last.date() if last is not None else None,
        )
        for survey_id, name, count, no_time, first, last in rows
    ]


@dataclass(frozen=True)
class DeletedSurvey:
    """A deleted survey: its name and how many responses went with it."""

    name: str
    responses: int


def delete_survey(session: Session, name: str) -> DeletedSurvey:
    """Delete a survey and all its responses (the departments stay).

    Raises:
        NotFoundError: no survey is called ``name``.
    """
    survey = find_survey(session, name)
    responses = session.scalar(select(func.count()).where(SurveyResponse.survey_id == survey.id))
    session.execute(delete(SurveyResponse).where(SurveyResponse.survey_id == survey.id))
    result = DeletedSurvey(survey.name, int(responses or 0))
    session.delete(survey)
    session.flush()
    return result
