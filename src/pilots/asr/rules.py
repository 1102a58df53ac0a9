"""Rules learned from what clerks corrected before (学習ルール), per department.

A finished job (修正完了, in the correction editor or with a corrected docx)
keeps its draft and the corrected text. :func:`substitutions` aligns the two
(difflib, characters) and collects each replaced span, widened to the analyser's
word boundaries (fugashi): 以降 → 移行, 電子決済 → 電子決裁. :func:`mine_rules` counts them per
department over its finished jobs:

* a substitution made in at least ``asr.rules_min_jobs`` jobs,
* whose draft span was left unchanged in at most ``asr.rules_max_unchanged_share``
  of its occurrences in those drafts (otherwise the clerks disagree: a conflict),

becomes a proposed rule. A department admin approves or rejects it
(``pilots asr rules approve|reject``); approved rules replace their text in
the department's next drafts and join its glossary for the second pass
(:mod:`pilots.asr.improve`), marked in the draft.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pilots.asr.corrections import EDITOR, stored_draft_text
from pilots.asr.improve import LearnedRule
from pilots.asr.jobs import find_department
from pilots.errors import NotFoundError, StateError
from pilots.tables import AsrCorrection, AsrJob, AsrRule, Department

STATUSES = ("proposed", "approved", "rejected")
STATUS_LABELS = {"proposed": "提案", "approved": "承認", "rejected": "却下"}
_MAX_SPAN = 20
_CONTEXTS = 3
# What a finish's kept mining result was worked out by: raise it when the result would
# change (substitutions(), _MAX_SPAN, the analyser's dictionary, stored_draft_text), and
# every finish is aligned again at the next mining.
_MINED_VERSION = 1


@dataclass(frozen=True)
class Substitution:
    """A span of the draft the clerk replaced, with the line it was in."""

    before: str
    after: str
    context: str


def _boundaries(text: str) -> set[int]:
    """The offsets in ``text`` where the analyser's words start or end."""
    from pilots.asr.glossary import tagger

    found = {0, len(text)}
    position = 0
    for line in text.split("\n"):
        offset = position
        for word in tagger()(line):
            start = text.find(word.surface, offset)
            if start < 0:
                break
            offset = start + len(word.surface)
            found.update((start, offset))
        position += len(line) + 1
    return found


def substitutions(draft: str, corrected: str) -> list[Substitution]:
    """The replaced spans of ``draft`` in ``corrected``, widened to whole words."""
    found: list[Substitution] = []
    matcher = SequenceMatcher(None, draft, corrected, autojunk=False)
    words = _boundaries(draft)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "replace":
            continue
        while i1 not in words and j1 > 0 and draft[i1 - 1] == corrected[j1 - 1]:
            i1, j1 = i1 - 1, j1 - 1
        while i2 not in words and j2 < len(corrected) and draft[i2] == corrected[j2]:
            i2, j2 = i2 + 1, j2 + 1
        before, after = draft[i1:i2].strip(), corrected[j1:j2].strip()
        if (
            not before
            or not after
            or "\n" in before + after
            or max(len(before), len(after)) > _MAX_SPAN
        ):
            continue
        line_start = draft.rfind("\n", 0, i1) + 1
        line_end = draft.find("\n", i2)
        context = draft[line_start : line_end if line_end >= 0 else len(draft)]
        found.append(Substitution(before, after, context))
    return found


@dataclass
class _Tally:
    jobs: set[int] = field(default_factory=set)
    changed: int = 0
    contexts: list[str] = field(default_factory=list)


def _finished_texts(
    session: Session, department_id: int
) -> list[tuple[int, str, list[Substitution]]]:
    """(job, draft, substitutions) of the department's finished jobs with both texts.

    Each job's latest finish is aligned once: what it gave is kept with that finish
    (``asr_corrections.mined``, tagged with :data:`_MINED_VERSION`), since aligning a
    two-hour meeting's texts takes seconds and the rules page mines at every view.
    The draft kept is the one the clerk corrected: a job transcribed again after
    its finish keeps learning from that pair, not from the new draft, which nobody
    corrected. A job finished again is a new finish row, aligned anew.
    """
    latest = (
        select(func.max(AsrCorrection.id).label("id"))
        .where(AsrCorrection.action == "finish")
        .group_by(AsrCorrection.job_id)
        .subquery()
    )
    finishes = session.scalars(
        select(AsrCorrection)
        .join(latest, latest.c.id == AsrCorrection.id)
        .join(AsrJob, AsrJob.id == AsrCorrection.job_id)
        .where(AsrJob.department_id == department_id, AsrJob.correction_minutes.is_not(None))
        .order_by(AsrCorrection.job_id)
    ).all()
    rows: list[tuple[int, str, list[Substitution]]] = []
    for finish in finishes:
        mined = json.loads(finish.mined) if finish.mined else None
        if mined is None or mined.get("version") != _MINED_VERSION:
            mined = _mine(session, finish)
            finish.mined = json.dumps(mined, ensure_ascii=False)
        if mined["draft"]:
            subs = [Substitution(*sub) for sub in mined["substitutions"]]
            rows.append((finish.job_id, mined["draft"], subs))
    return rows


def _mine(session: Session, finish: AsrCorrection) -> dict[str, Any]:
    """What one finish teaches: the draft compared ('' when there is nothing to compare)
    and the substitutions from it to the corrected text."""
    # The editor's text has no speaker labels; a corrected file has them.
    draft = stored_draft_text(session, finish.job_id, speakers=finish.source != EDITOR)
    if not finish.corrected_text or not draft:
        return {"version": _MINED_VERSION, "draft": "", "substitutions": []}
    found = substitutions(draft, finish.corrected_text)
    return {
        "version": _MINED_VERSION,
        "draft": draft,
        "substitutions": [[sub.before, sub.after, sub.context] for sub in found],
    }


def mine_rules(session: Session, *, min_jobs: int, max_unchanged_share: float) -> int:
    """Bring every department's proposed rules up to date from its finished jobs.

    A rule already decided keeps its decision; its counts are updated.

    Args:
        session: the database (the caller commits).
        min_jobs: ``asr.rules_min_jobs``.
        max_unchanged_share: ``asr.rules_max_unchanged_share``.

    Returns:
        The number of rules proposed for the first time.
    """
    added = 0
    for department_id in session.scalars(select(Department.id).order_by(Department.id)).all():
        texts = _finished_texts(session, department_id)
        tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
        for job_id, _draft, found in texts:
            for sub in found:
                tally = tallies[(sub.before, sub.after)]
                tally.jobs.add(job_id)
                tally.changed += 1
                if len(tally.contexts) < _CONTEXTS and sub.context not in tally.contexts:
                    tally.contexts.append(sub.context)
        changed_of: dict[str, int] = defaultdict(int)
        for (before, _after), tally in tallies.items():
            changed_of[before] += tally.changed
        occurrences = {
            before: sum(draft.count(before) for _, draft, _ in texts) for before in changed_of
        }
        existing = {
            (rule.before, rule.after): rule
            for rule in session.scalars(
                select(AsrRule).where(AsrRule.department_id == department_id)
            )
        }
        for (before, after), tally in tallies.items():
            unchanged = max(occurrences[before] - changed_of[before], 0)
            share = unchanged / (unchanged + tally.changed)
            rule = existing.get((before, after))
            if rule is None:
                if len(tally.jobs) < min_jobs or share > max_unchanged_share:
                    continue
                proposed = _propose(session, department_id, before, after)
                if proposed is None:  # just proposed by another mining: that one
                    rule = session.scalars(
                        select(AsrRule).where(
                            AsrRule.department_id == department_id,
                            AsrRule.before == before,
                            AsrRule.after == after,
                        )
                    ).one()
                else:
                    rule = proposed
                    added += 1
            rule.jobs = len(tally.jobs)
            rule.changed = tally.changed
            rule.unchanged = unchanged
            rule.contexts = json.dumps(tally.contexts, ensure_ascii=False)
    session.flush()
    return added


def _propose(session: Session, department_id: int, before: str, after: str) -> AsrRule | None:
    """A new proposed rule; None when another mining (a second view of the rules page at
    the same moment, on PostgreSQL) has just proposed the same one."""
    rule = AsrRule(department_id=department_id, before=before, after=after)
    rule.status = "proposed"
    rule.decided_by = ""
    try:
        with session.begin_nested():
            session.add(rule)
    except IntegrityError:
        return None
    return rule


@dataclass(frozen=True)
class RuleRow:
    """A rule as ``pilots asr rules list`` and the rules page show it."""

    id: int
    department: str
    before: str
    after: str
    jobs: int
    changed: int
    unchanged: int
    contexts: tuple[str, ...]
    status: str
    decided_by: str

    @property
    def status_label(self) -> str:
        """提案, 承認 or 却下."""
        return STATUS_LABELS[self.status]


def list_rules(session: Session, department: str | None = None) -> list[RuleRow]:
    """The rules, by department and number; one department's only when named.

    Raises:
        NotFoundError: no department has that name.
    """
    query = select(AsrRule, Department.name).join(Department).order_by(Department.name, AsrRule.id)
    if department:
        query = query.where(AsrRule.department_id == find_department(session, department).id)
    return [
        RuleRow(
            rule.id,
            name,
            rule.before,
            rule.after,
            rule.jobs,
            rule.changed,
            rule.unchanged,
            tuple(json.loads(rule.contexts)),
            rule.status,
            rule.decided_by,
        )
        for rule, name in session.execute(query)
    ]


def decide_rule(session: Session, rule_id: int, status: str, *, by: str, now: datetime) -> None:
    """Approve or reject a rule (a department admin's decision).

    Raises:
        NotFoundError: there is no rule ``rule_id``.
        StateError: ``status`` is neither approved nor rejected.
    """
    if status not in ("approved", "rejected"):
        raise StateError(f"{status} はルールの判断ではありません（approved か rejected）")
    rule = session.get(AsrRule, rule_id)
    if rule is None:
        raise NotFoundError(
            f"ルール #{rule_id} はありません（pilots asr rules list で一覧を表示します）"
        )
    rule.status = status
    rule.decided_by = by[:100]
    rule.decided_at = now
    session.flush()


def approved_rules(session: Session, department: str) -> list[LearnedRule]:
    """The department's approved rules, for its next drafts; none for an unknown department."""
    try:
        found = find_department(session, department)
    except NotFoundError:
        return []
    rules = session.scalars(
        select(AsrRule)
        .where(AsrRule.department_id == found.id, AsrRule.status == "approved")
        .order_by(AsrRule.id)
    )
    return [LearnedRule(rule.id, rule.before, rule.after) for rule in rules]
