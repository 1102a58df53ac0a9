"""Reading satisfaction-survey exports (Microsoft Forms xlsx, any form's CSV) into responses.

A survey export has one row per respondent: metadata columns (Microsoft
Forms: ID, 開始時刻, 完了時刻, メール, 名前, 最終変更時刻 or their English
names; Google Forms: タイムスタンプ / Timestamp …), then one column per
question. Following SPEC §5:

* The satisfaction question is the one question column whose answers sit on
  the 5-point scale 大変満足 / 満足 / どちらともいえない (also 普通, ふつう) /
  不満 / 大変不満 — at least one answer on the scale, and at least half of the
  column's answers (non-responses aside). If several columns qualify the
  import stops and lists them; ``question=`` picks one.
* Answers are classified by :func:`pilots.survey.scale.classify`: on the
  scale, a non-response (blank, 無回答 …: counted and shown) or
  ``unrecognised`` (stored and shown, never counted as valid).
* Free-text comments (columns whose header speaks of 意見, 感想, コメント …, or
  those named by ``comment_columns=``) are stored verbatim; they are untrusted
  text and are escaped where they are displayed.
* The completion time (Microsoft Forms 完了時刻 / Completion time, Google
  Forms タイムスタンプ / Timestamp, LoGoフォーム and others 回答日時, 送信日時,
  回答日, 受付日時) is stored so that an interim summary can stop at a date.
  A cell that is not a date and time keeps its answer, without a time, and
  is reported as a warning with its line.
* Names and e-mail addresses are not stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.calendar import parse_datetime, to_japan_time
from pilots.errors import CalendarError, ConfigError, InputFileError
from pilots.org import DepartmentResolver
from pilots.survey.scale import NON_RESPONSE, UNRECOGNISED, VALID, classify
from pilots.tables import Survey, SurveyResponse
from pilots.tabular import ImportReject, as_text, read_table, until_truncated
from pilots.text import normalize_name

# Compared after NFKC, spaces removed, lower case.
METADATA_HEADERS = frozenset(
    {
        "id",
        "開始時刻",
        "完了時刻",
        "メール",
        "電子メール",
        "名前",
        "最終変更時刻",
        "starttime",
        "completiontime",
        "email",
        "name",
        "lastmodifiedtime",
        "タイムスタンプ",
        "timestamp",
        "メールアドレス",
        "emailaddress",
        "回答日時",
        "送信日時",
        "回答日",
        "受付日時",
        "回答id",
        "応答id",
        "responseid",
    }
)
RESPONDENT_ID_HEADERS = frozenset({"id", "回答id", "応答id", "responseid"})
# When the respondent sent the form, most telling first: Forms' 開始時刻 and
# 最終変更時刻 are not it. Compared like METADATA_HEADERS.
COMPLETION_HEADERS: tuple[str, ...] = (
    "完了時刻",
    "completiontime",
    "タイムスタンプ",
    "timestamp",
    "回答日時",
    "送信日時",
    "受付日時",
    "回答日",
)
DEPARTMENT_HEADERS = frozenset({"所属", "所属名", "部署", "部署名", "課名", "所属課", "department"})
_DEPARTMENT_WORDS = ("所属", "部署", "課名")
_COMMENT_WORDS = (
    "意見",
    "感想",
    "コメント",
    "自由",
    "要望",
    "理由",
    "改善",
    "気づ",
    "comment",
    "feedback",
    "remark",
)
_FORMS_RANGE = re.compile(r"\s*\(\d+-\d+\)$")
# The stored values whose change makes a known response "updated" (not the file or line).
_MEANINGFUL = (
    "department_id",
    "department_text",
    "answer_raw",
    "status",
    "comments",
    "completed_at",
)


def _key(text: str) -> str:
    return re.sub(r"\s+", "", normalize_name(text)).lower()


def default_survey_name(path: str | Path) -> str:
    """The survey's name when none is given: the file name without its extension.

    Microsoft Forms names an export after the form and the range of responses
    it holds (``満足度調査(1-31).xlsx``); that range is dropped so that a later,
    longer export of the same form lands in the same survey.
    """
    return _FORMS_RANGE.sub("", normalize_name(Path(path).stem)) or normalize_name(Path(path).stem)


@dataclass(frozen=True)
class ImportWarning:
    """A row imported without its completion time, because the cell could not be read.

    The answer counts like any other; a summary with ``as_of`` cannot place it
    in time and always counts it.

    Attributes:
        line: the row's line (CSV) or row (xlsx) number.
        column: the header of the cell.
        value: the cell as text, as the file had it.
        reason: why it could not be read, in Japanese.
    """

    line: int
    column: str
    value: str
    reason: str


@dataclass
class SurveyImportResult:
    """What ``pilots survey import FILE`` did.

    Attributes:
        survey: the survey's name.
        file / encoding: the file read and its CSV encoding (None for xlsx).
        question: the header of the satisfaction question (the 5-point column).
        department_column / respondent_id_column / completion_column: the
            columns used, if any.
        comment_columns: the free-text columns kept as comments.
        rows: respondent rows read (blank lines not counted), unreadable ones included.
        added / updated / unchanged: responses new, changed (an edited form
            response with the same ID), or already imported.
        rejected: rows not imported because they cannot be read: the last
            row of a CSV export cut off inside a quoted answer (a truncated
            download), which must not count as an answer.
        valid / non_responses / unrecognised: this file's rows by answer.
        departments_created: departments named that were not known yet.
        warnings: rows imported whose completion time could not be read.
    """

    survey: str
    file: str
    encoding: str | None
    question: str
    department_column: str | None
    respondent_id_column: str | None
    comment_columns: list[str]
    completion_column: str | None = None
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    valid: int = 0
    non_responses: int = 0
    unrecognised: int = 0
    departments_created: list[str] = field(default_factory=list)
    warnings: list[ImportWarning] = field(default_factory=list)
    rejected: list[ImportReject] = field(default_factory=list)


class QuestionNotChosen(InputFileError):
    """The file does not tell which column is the satisfaction question: none or several.

    Attributes:
        problem: what was found, without the command-line advice (``--question``)
            that the message adds.
        choices: the column headers to choose from (``question=``).
    """

    def __init__(self, path: Path, message: str, *, problem: str, choices: list[str]) -> None:
        super().__init__(path, message)
        self.problem = problem
        self.choices = choices


@dataclass(frozen=True)
class _Layout:
    question: int
    department: int | None
    respondent_id: int | None
    comments: tuple[int, ...]
    completed_at: int | None


def _find_column(header: Sequence[str], text: str, option: str) -> int:
    wanted = _key(text)
    found = [i for i, h in enumerate(header) if _key(h) == wanted]
    if not found:
        raise ConfigError(
            option,
            f"列「{text}」がありません（列: " + "、".join(f"「{h}」" for h in header if h) + "）",
        )
    if len(found) > 1:
        raise ConfigError(option, f"列「{text}」が{len(found)}つあります")
    return found[0]


def _scale_columns(rows: Sequence[tuple[int, tuple[Any, ...]]], candidates: list[int]) -> list[int]:
    """The columns whose answers sit on the 5-point scale (see the module docstring)."""
    chosen = []
    for i in candidates:
        statuses = Counter(classify(cells[i] if i < len(cells) else None)[0] for _, cells in rows)
        answered = statuses[VALID] + statuses[UNRECOGNISED]
        if statuses[VALID] >= 1 and statuses[VALID] * 2 >= answered:
            chosen.append(i)
    return chosen


def _layout(
    path: Path,
    header: list[str],
    rows: Sequence[tuple[int, tuple[Any, ...]]],
    *,
    question: str | None,
    department_column: str | None,
    comment_columns: Sequence[str],
) -> _Layout:
    keys = [_key(h) for h in header]
    respondent = next((i for i, k in enumerate(keys) if k in RESPONDENT_ID_HEADERS), None)
    completed_at = next(
        (keys.index(k) for k in COMPLETION_HEADERS if k in keys),
        None,
    )
    metadata = {i for i, k in enumerate(keys) if k in METADATA_HEADERS or not k}
    questions = [i for i in range(len(header)) if i not in metadata]

    if department_column:
        department: int | None = _find_column(header, department_column, "--department-column")
    else:
        exact = [i for i in questions if keys[i] in DEPARTMENT_HEADERS]
        # A header merely containing 所属 could be a question ("所属での満足度"): a
        # column answered on the scale is never taken for the department.
        loose = [
            i
            for i in questions
            if any(w in keys[i] for w in _DEPARTMENT_WORDS) and not _scale_columns(rows, [i])
        ]
        department = exact[0] if len(exact) == 1 else loose[0] if len(loose) == 1 else None
    others = [i for i in questions if i != department]

    if question:
        chosen = _find_column(header, question, "--question")
    else:
        scale = _scale_columns(rows, others)
        if not scale:
            problem = (
                "5段階の満足度（大変満足/満足/どちらともいえない/不満/大変不満）で答えた列が"
                "見つかりません"
            )
            raise QuestionNotChosen(
                path,
                problem
                + "。--question で設問の列を指定してください（設問: "
                + "、".join(f"「{header[i]}」" for i in others)
                + "）",
                problem=problem,
                choices=[header[i] for i in others],
            )
        if len(scale) > 1:
            problem = "5段階の満足度で答えた列が複数あります: " + "、".join(
                f"「{header[i]}」" for i in scale
            )
            raise QuestionNotChosen(
                path,
                problem + "。--question で1つ選んでください",
                problem=problem,
                choices=[header[i] for i in scale],
            )
        chosen = scale[0]
    if chosen == department:
        raise ConfigError("--question", f"列「{header[chosen]}」は所属の列です")

    if comment_columns:
        comments = tuple(_find_column(header, c, "--comment-column") for c in comment_columns)
    else:
        comments = tuple(
            i for i in others if i != chosen and any(w in keys[i] for w in _COMMENT_WORDS)
        )
    return _Layout(chosen, department, respondent, comments, completed_at)


def _cell(cells: tuple[Any, ...], index: int | None) -> Any:
    if index is None or index >= len(cells):
        return None
    return cells[index]


def _verbatim(value: Any) -> str:
    """A comment as the respondent wrote it (only a cell that is all blank becomes '')."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else as_text(value)
    return text if text.strip() else ""


def completion_time(value: Any) -> datetime:
    """A completion-time cell as naive Japan time.

    xlsx cells come as datetimes (a bare date is taken as midnight); text is
    read by :func:`pilots.calendar.parse_datetime` (``2020/02/03 9:15:00``,
    ISO 8601, ``2020年2月3日 9時15分`` …).

    Raises:
        CalendarError: the cell is blank or not a date and time.
    """
    if isinstance(value, datetime):
        return to_japan_time(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = as_text(value)
    if not text:
        raise CalendarError("完了時刻が空です")
    return parse_datetime(text)


def import_survey(
    session: Session,
    path: str | Path,
    *,
    survey: str | None = None,
    question: str | None = None,
    department_column: str | None = None,
    comment_columns: Sequence[str] = (),
    sheet: str | None = None,
) -> SurveyImportResult:
    """Load a survey export into the survey ``survey`` (default: :func:`default_survey_name`).

    A response is identified by the form's response ID (Microsoft Forms ``ID``)
    when the export has one, else by the hash of the row's cells and its
    occurrence among identical rows of the file; importing the same file, or
    a later export holding the same responses, adds nothing. A response whose
    ID is known but whose answers changed (edited in the form) is updated.
    The completion time is stored but is not part of the identity; a known
    response gains it (or a new one) as an update. A completion time that
    cannot be read keeps the answer, leaves a time stored earlier as it was,
    and is listed in ``warnings``. The whole file is one transaction.

    Raises:
        InputFileError: unreadable file, no rows, no or several 5-point columns,
            a response ID listed twice, or a survey imported before with another question.
        ConfigError: ``question``, ``department_column`` or a comment column
            names no column of the file.
    """
    path = Path(path)
    table = read_table(path, sheet=sheet)
    header = table.header
    rejected: list[ImportReject] = []
    rows = [
        (line, cells)
        for line, cells in until_truncated(table.rows, rejected)
        if any(c not in (None, "") and str(c).strip() for c in cells)
    ]
    if not rows:
        if rejected:  # the only row was cut off
            raise InputFileError(path, rejected[0].reason, line=rejected[0].line)
        raise InputFileError(path, "回答の行がありません")
    layout = _layout(
        path,
        header,
        rows,
        question=question,
        department_column=department_column,
        comment_columns=comment_columns,
    )
    name = normalize_name(survey) if survey else default_survey_name(path)
    if not name:
        raise ConfigError("--survey", "調査名が空です")
    question_text = header[layout.question]
    record = session.scalar(select(Survey).where(Survey.name == name))
    if record is None:
        record = Survey(name=name, question=question_text, source_file=str(path))
        session.add(record)
    elif _key(record.question) != _key(question_text):
        raise InputFileError(
            path,
            f"調査「{name}」は設問「{record.question}」で取り込み済みです。このファイルの設問は"
            f"「{question_text}」です（別の調査なら別の調査名を付けてください）",
        )
    record.department_column = (
        header[layout.department] if layout.department is not None else record.department_column
    )
    record.source_file = str(path)
    session.flush()

    result = SurveyImportResult(
        survey=name,
        file=str(path),
        encoding=table.encoding,
        question=question_text,
        department_column=header[layout.department] if layout.department is not None else None,
        respondent_id_column=(
            header[layout.respondent_id] if layout.respondent_id is not None else None
        ),
        comment_columns=[header[i] for i in layout.comments],
        completion_column=(
            header[layout.completed_at] if layout.completed_at is not None else None
        ),
        rows=len(rejected),
        rejected=rejected,
    )
    existing = {
        r.response_key: r
        for r in session.scalars(
            select(SurveyResponse).where(SurveyResponse.survey_id == record.id)
        )
    }
    resolver = DepartmentResolver(session, created_by="survey import")
    seen_ids: dict[str, int] = {}
    occurrences: Counter[tuple[str, ...]] = Counter()
    for line, cells in rows:
        result.rows += 1
        respondent = as_text(_cell(cells, layout.respondent_id)) or None
        if respondent is not None:
            if respondent in seen_ids:
                raise InputFileError(
                    path,
                    f"回答ID {respondent} が{seen_ids[respondent]}行目と重複しています",
                    line=line,
                )
            seen_ids[respondent] = line
            key = hashlib.sha256(f"id\x1f{respondent}".encode()).hexdigest()
        else:
            content = tuple(as_text(c) for c in cells)
            n = occurrences[content]
            occurrences[content] += 1
            joined = "\x1f".join((*content, str(n)))
            key = hashlib.sha256(f"row\x1f{joined}".encode()).hexdigest()

        raw_answer = _cell(cells, layout.question)
        status, answer = classify(raw_answer)
        result.valid += status == VALID
        result.non_responses += status == NON_RESPONSE
        result.unrecognised += status == UNRECOGNISED
        dept_text = as_text(_cell(cells, layout.department))
        department = resolver(dept_text) if dept_text else None
        comments = [
            {"question": header[i], "text": text}
            for i in layout.comments
            if (text := _verbatim(_cell(cells, i)))
        ]
        completed_at: datetime | None = None
        if layout.completed_at is not None:
            raw_time = _cell(cells, layout.completed_at)
            try:
                completed_at = completion_time(raw_time)
            except CalendarError as exc:
                result.warnings.append(
                    ImportWarning(
                        line,
                        header[layout.completed_at],
                        as_text(raw_time),
                        exc.message,
                    )
                )
        values: dict[str, Any] = {
            "respondent_id": respondent,
            "import_file": str(path),
            "line": line,
            "department_id": department.id if department is not None else None,
            "department_text": dept_text,
            "answer_raw": as_text(raw_answer),
            "answer": answer,
            "status": status,
            "comments": json.dumps(comments, ensure_ascii=False),
            "completed_at": completed_at,
        }
        found = existing.get(key)
        if found is None:
            response = SurveyResponse(survey_id=record.id, response_key=key, **values)
            session.add(response)
            existing[key] = response
            result.added += 1
            continue
        if completed_at is None:
            # An unreadable (or absent) time does not erase one read before.
            del values["completed_at"]
        meaningful = [k for k in _MEANINGFUL if k in values]
        if any(getattr(found, k) != values[k] for k in meaningful):
            for k, v in values.items():
                setattr(found, k, v)
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    result.departments_created = list(resolver.created)
    return result
