"""The correction editor's document: a job's utterances as the clerk corrects them, versioned.

The document is made once from the job's draft (:func:`create_document`) and
changed only by **operations** that the editor page sends with each save — the
operations since its last save, never the whole document:

=========  ==============================================================  =====================
op         fields                                                          what it does
=========  ==============================================================  =====================
text       ``id``, ``text``                                                the utterance's new text
speaker    ``id``, ``speaker``                                             its speaker label
split      ``id``, ``at`` (characters), ``new`` (an id)                    cut at the cursor; the
                                                                           tail becomes ``new``
merge      ``id``, ``next``                                                join with the next one
insert     ``after`` (an id, or null for the top), ``new``, ``text``,      a new utterance
           ``speaker``
delete     ``id``                                                          remove it (kept, hidden)
restore    ``id``                                                          bring a deleted one back
name       ``label``, ``name``                                             call a speaker label by a
                                                                           name (話者1 → 議長)
=========  ==============================================================  =====================

Each save names the document's version it was made on. It is applied in one
transaction that first moves the version on (``UPDATE … SET version = version
+ 1 WHERE version = :expected``): a save made on an older version — another tab
or another person saved in between — changes nothing and is refused
(:class:`VersionConflict`), so no edit is overwritten silently. Every save is
kept in the edit log with its tab, user and time. Undo in the page sends the
inverse operation (split ↔ merge, insert ↔ delete, delete ↔ restore).

The words the model timed travel with the text (``words``: first and end
character, start time, probability): they give the uncertain-word marks
(:mod:`pilots.asr.marks`) and the time where a split cuts. When the clerk
changes a text, the words in the unchanged parts keep their places and the
words in the changed parts are dropped: that spot has been corrected.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pilots.asr.marks import word_spans
from pilots.asr.result import Word
from pilots.errors import PilotsError
from pilots.tables import AsrJob, EditDocument, EditLogEntry, EditSpeaker, EditUtterance

EDITING, FINISHED = "editing", "finished"
MAX_OPS = 1000
MAX_TEXT = 20_000
MAX_LABEL = 100
_GAP = 1 << 20  # positions of neighbouring utterances, so that inserts fit between them
_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

WordMark = tuple[int, int, float, float]
"""A timed word on an utterance's text: first character, end character, start seconds,
probability."""


class EditError(PilotsError):
    """A save that cannot be applied: an unknown operation or utterance, a bad value."""


class VersionConflict(PilotsError):
    """The save was made on an older version: another tab or person saved in between.

    Attributes:
        version: the document's version now.
    """

    def __init__(self, version: int) -> None:
        super().__init__(
            "別のタブまたは別の人がこの議事録を先に保存しました。"
            "上書きしないよう、この画面の変更は保存していません。最新の内容を読み込んでください"
        )
        self.version = version


class DocumentFinished(PilotsError):
    """The correction is finished (修正完了): the text is frozen until the job is reopened."""

    def __init__(self) -> None:
        super().__init__(
            "修正完了のため編集できません。続けて直すには「修正を再開」を押してください"
        )


@dataclass(frozen=True)
class EditedUtterance:
    """One utterance of the document (発言).

    Attributes:
        id: the utterance's id within the job.
        start / end: seconds from the start of the recording.
        speaker: its speaker label ("" when none).
        text: the text as corrected so far.
        flags: the draft's review reasons (要確認), in Japanese.
        words: the model's timed words on the text (:data:`WordMark`).
    """

    id: str
    start: float
    end: float
    speaker: str = ""
    text: str = ""
    flags: tuple[str, ...] = ()
    words: tuple[WordMark, ...] = ()


def marked_pieces(utterance: EditedUtterance, threshold: float) -> list[tuple[str, float | None]]:
    """The utterance's text cut into pieces, each with its word's probability where the
    model was unsure of it (below ``threshold``), else None."""
    pieces: list[tuple[str, float | None]] = []
    reach = 0
    text = utterance.text
    for first, end, _start, probability in utterance.words:
        if probability >= threshold or first < reach or end > len(text):
            continue
        if first > reach:
            pieces.append((text[reach:first], None))
        pieces.append((text[first:end], probability))
        reach = end
    if reach < len(text) or not pieces:
        pieces.append((text[reach:], None))
    return pieces


@dataclass(frozen=True)
class Document:
    """A job's editable document as it is now.

    Attributes:
        job_id: the job (効果測定のジョブ).
        version: how many saves made it (0 for the draft as it came).
        state: ``editing`` or ``finished``.
        utterances: in order, deleted ones left out.
        speakers: the names given to speaker labels.
        draft_text: the draft's text, one utterance a line (for the draft accuracy).
    """

    job_id: int
    version: int
    state: str
    utterances: list[EditedUtterance]
    speakers: dict[str, str] = field(default_factory=dict)
    draft_text: str = ""

    @property
    def finished(self) -> bool:
        """Whether the correction is finished (修正完了)."""
        return self.state == FINISHED

    def speaker_name(self, label: str) -> str:
        """What a label is shown as: its given name, else the label itself."""
        return self.speakers.get(label, label)

    @property
    def text(self) -> str:
        """The corrected text, one utterance a line (what the draft accuracy compares)."""
        return "\n".join(u.text for u in self.utterances if u.text.strip())


@dataclass(frozen=True)
class SaveResult:
    """What a save did.

    Attributes:
        version: the document's new version.
        times: start and end of each utterance the save created or re-timed (a
            split, an insert), for the page to seek by.
    """

    version: int
    times: dict[str, tuple[float, float]]


# --- from the draft ---------------------------------------------------------------


def draft_utterances(segments: Sequence[Mapping[str, Any]]) -> list[EditedUtterance]:
    """The draft's segments (the JSON draft's ``segments``) as the document's utterances.

    An utterance without text is left out unless the draft flagged it, as in the
    draft itself (:func:`pilots.asr.minutes.minutes_lines`).
    """
    found = []
    for index, segment in enumerate(segments):
        text = str(segment.get("text") or "").strip()
        flags = tuple(dict.fromkeys(str(f.get("reason", "")) for f in segment.get("flags") or []))
        if not text and not flags:
            continue
        words = [
            Word(float(w["start"]), float(w["end"]), str(w["text"]), float(w["probability"]))
            for w in segment.get("words") or []
        ]
        found.append(
            EditedUtterance(
                id=f"u{index}",
                start=float(segment.get("start") or 0.0),
                end=float(segment.get("end") or 0.0),
                speaker=str(segment.get("speaker") or "")[:MAX_LABEL],
                text=text,
                flags=flags,
                words=tuple(
                    (s.first, s.end, round(s.start, 3), round(s.probability, 4))
                    for s in word_spans(text, words)
                ),
            )
        )
    return found


def create_document(
    session: Session, job_id: int, utterances: Sequence[EditedUtterance], *, now: datetime
) -> None:
    """Store a job's document, made from its draft, at version 0."""
    session.add(
        EditDocument(
            job_id=job_id,
            version=0,
            state=EDITING,
            draft_text="\n".join(u.text for u in utterances if u.text.strip()),
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    session.add_all(
        _row(job_id, utterance, (index + 1) * _GAP) for index, utterance in enumerate(utterances)
    )
    session.flush()


def _row(job_id: int, u: EditedUtterance, position: int) -> EditUtterance:
    return EditUtterance(
        job_id=job_id,
        uid=u.id,
        position=position,
        start=u.start,
        end=u.end,
        speaker=u.speaker,
        text=u.text,
        flags=json.dumps(list(u.flags), ensure_ascii=False),
        words=json.dumps([list(w) for w in u.words]),
        deleted=False,
    )


def _utterance(row: EditUtterance) -> EditedUtterance:
    return EditedUtterance(
        id=row.uid,
        start=row.start,
        end=row.end,
        speaker=row.speaker,
        text=row.text,
        flags=tuple(json.loads(row.flags)),
        words=tuple((int(a), int(b), float(t), float(p)) for a, b, t, p in json.loads(row.words)),
    )


def open_document(session: Session, job_id: int, *, now: datetime) -> Document | None:
    """The job's document, made from its draft the first time; None for a job without a draft.

    A job has a draft (``draft_json``) once pilots transcribed it; a job reported
    by a department, or one logged before the draft was kept, has none.
    """
    found = load_document(session, job_id)
    if found is not None:
        return found
    job = session.get(AsrJob, job_id)
    if job is None or not job.draft_json:
        return None
    try:
        with session.begin_nested():  # another tab may open the job for the first time too
            create_document(session, job_id, draft_utterances(json.loads(job.draft_json)), now=now)
    except IntegrityError:
        pass
    return load_document(session, job_id)


def load_document(session: Session, job_id: int) -> Document | None:
    """The job's document, or None when the editor has not opened the job yet."""
    doc = session.get(EditDocument, job_id)
    if doc is None:
        return None
    rows = session.scalars(
        select(EditUtterance)
        .where(EditUtterance.job_id == job_id, EditUtterance.deleted.is_(False))
        .order_by(EditUtterance.position)
    )
    names = session.execute(
        select(EditSpeaker.label, EditSpeaker.name).where(EditSpeaker.job_id == job_id)
    )
    return Document(
        job_id=job_id,
        version=doc.version,
        state=doc.state,
        utterances=[_utterance(r) for r in rows],
        speakers={label: name for label, name in names},
        draft_text=doc.draft_text,
    )


# --- saving -----------------------------------------------------------------------


def _text(op: Mapping[str, Any], key: str, limit: int) -> str:
    value = op.get(key, "")
    if not isinstance(value, str):
        raise EditError(f"{key} が文字列ではありません")
    if len(value) > limit:
        raise EditError(f"{key} が長すぎます（{limit:,}文字まで）")
    return _CONTROL.sub("", value)


def _id(op: Mapping[str, Any], key: str) -> str:
    value = op.get(key)
    if not isinstance(value, str) or not _ID.match(value):
        raise EditError(f"{key} が発言の番号ではありません: {value!r}"[:200])
    return value


class _Editor:
    """Applies one save's operations to the rows of one job, inside its transaction."""

    def __init__(self, session: Session, job_id: int) -> None:
        self.session = session
        self.job_id = job_id
        self.times: dict[str, tuple[float, float]] = {}

    def get(self, uid: str, *, deleted: bool | None = False) -> EditUtterance:
        row = self.session.get(EditUtterance, (self.job_id, uid))
        if row is None or (deleted is not None and row.deleted != deleted):
            raise EditError(f"発言 {uid} はありません")
        return row

    def following(self, row: EditUtterance | None) -> EditUtterance | None:
        query = select(EditUtterance).where(
            EditUtterance.job_id == self.job_id, EditUtterance.deleted.is_(False)
        )
        if row is not None:
            query = query.where(EditUtterance.position > row.position)
        return self.session.scalar(query.order_by(EditUtterance.position).limit(1))

    def position_after(self, row: EditUtterance | None) -> int:
        """A position between ``row`` (None: the top) and whatever comes next."""
        query = select(EditUtterance.position).where(EditUtterance.job_id == self.job_id)
        if row is not None:
            query = query.where(EditUtterance.position > row.position)
        following = self.session.scalar(query.order_by(EditUtterance.position).limit(1))
        before = row.position if row is not None else None
        if before is None:
            return (following or _GAP) - _GAP
        if following is None:
            return before + _GAP
        if following - before > 1:
            return (before + following) // 2
        self.renumber()
        return self.position_after(row)

    def renumber(self) -> None:
        """Spread the positions out again (after very many inserts at one place)."""
        rows = self.session.scalars(
            select(EditUtterance)
            .where(EditUtterance.job_id == self.job_id)
            .order_by(EditUtterance.position)
        ).all()
        for index, row in enumerate(rows):
            row.position = (index + 1) * _GAP
        self.session.flush()

    def place(self, uid: str, after: EditUtterance | None) -> EditUtterance:
        """A row for ``uid`` right after ``after``: new, or a deleted one brought back."""
        position = self.position_after(after)
        row = self.session.get(EditUtterance, (self.job_id, uid))
        if row is None:
            row = EditUtterance(
                job_id=self.job_id, uid=uid, flags="[]", words="[]", speaker="", text=""
            )
            self.session.add(row)
        elif not row.deleted:
            raise EditError(f"発言 {uid} はもうあります")
        row.position = position
        row.deleted = False
        return row

    def apply(self, op: Mapping[str, Any]) -> None:
        kind = op.get("op")
        handler = getattr(self, f"op_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            raise EditError(f"知らない操作です: {kind!r}"[:200])
        handler(op)
        self.session.flush()

    def op_text(self, op: Mapping[str, Any]) -> None:
        row = self.get(_id(op, "id"))
        text = _text(op, "text", MAX_TEXT)
        row.words = json.dumps([list(w) for w in realign(_words(row), row.text, text)])
        row.text = text

    def op_speaker(self, op: Mapping[str, Any]) -> None:
        self.get(_id(op, "id")).speaker = _text(op, "speaker", MAX_LABEL).strip()

    def op_split(self, op: Mapping[str, Any]) -> None:
        row = self.get(_id(op, "id"))
        at = op.get("at")
        if isinstance(at, bool) or not isinstance(at, int) or not 0 <= at <= len(row.text):
            raise EditError(f"分割する位置が正しくありません: {at!r}"[:200])
        tail = self.place(_id(op, "new"), row)
        words = _words(row)
        cut = split_time(row.start, row.end, row.text, words, at)
        tail.text, row.text = row.text[at:], row.text[:at]
        tail.words = json.dumps([[a - at, b - at, t, p] for a, b, t, p in words if a >= at])
        row.words = json.dumps([list(w) for w in words if w[1] <= at])
        tail.speaker = row.speaker
        tail.start, tail.end, row.end = cut, row.end, cut
        self.times[row.uid] = (row.start, row.end)
        self.times[tail.uid] = (tail.start, tail.end)

    def op_merge(self, op: Mapping[str, Any]) -> None:
        row = self.get(_id(op, "id"))
        after = self.following(row)
        if after is None or after.uid != _id(op, "next"):
            raise EditError(f"発言 {row.uid} の次は {op.get('next')!r} ではありません"[:200])
        shift = len(row.text)
        words = [*_words(row), *((a + shift, b + shift, t, p) for a, b, t, p in _words(after))]
        flags = list(dict.fromkeys([*json.loads(row.flags), *json.loads(after.flags)]))
        row.text += after.text
        row.words = json.dumps([list(w) for w in words])
        row.flags = json.dumps(flags, ensure_ascii=False)
        row.end = max(row.end, after.end)
        after.deleted = True
        self.times[row.uid] = (row.start, row.end)

    def op_insert(self, op: Mapping[str, Any]) -> None:
        after_id = op.get("after")
        before = None if after_id is None else self.get(_id(op, "after"))
        row = self.place(_id(op, "new"), before)
        row.text = _text(op, "text", MAX_TEXT)
        row.speaker = _text(op, "speaker", MAX_LABEL).strip()
        row.words = "[]"
        row.start = row.end = before.end if before is not None else 0.0
        self.times[row.uid] = (row.start, row.end)

    def op_delete(self, op: Mapping[str, Any]) -> None:
        self.get(_id(op, "id")).deleted = True

    def op_restore(self, op: Mapping[str, Any]) -> None:
        self.get(_id(op, "id"), deleted=True).deleted = False

    def op_name(self, op: Mapping[str, Any]) -> None:
        label = _text(op, "label", MAX_LABEL).strip()
        name = _text(op, "name", MAX_LABEL).strip()
        if not label:
            raise EditError("名前を付ける話者ラベルが空です")
        found = self.session.get(EditSpeaker, (self.job_id, label))
        if not name or name == label:
            if found is not None:
                self.session.delete(found)
        elif found is None:
            self.session.add(EditSpeaker(job_id=self.job_id, label=label, name=name))
        else:
            found.name = name


def _words(row: EditUtterance) -> list[WordMark]:
    return [(int(a), int(b), float(t), float(p)) for a, b, t, p in json.loads(row.words)]


def realign(words: Sequence[WordMark], old: str, new: str) -> list[WordMark]:
    """The timed words of ``old`` placed on ``new``: kept where unchanged, dropped where edited."""
    if not words or old == new:
        return list(words)
    moved: dict[int, int] = {}
    levenshtein = importlib.import_module("rapidfuzz.distance").Levenshtein
    for tag, o1, o2, n1, _n2 in levenshtein.opcodes(old, new).as_list():
        if tag == "equal":
            for offset in range(o2 - o1):
                moved[o1 + offset] = n1 + offset
    kept = []
    for first, end, start, probability in words:
        places = [moved.get(i) for i in range(first, end)]
        if places and None not in places:
            kept.append((places[0] or 0, (places[-1] or 0) + 1, start, probability))
    return kept


def split_time(start: float, end: float, text: str, words: Sequence[WordMark], at: int) -> float:
    """Where an utterance cut at character ``at`` is cut in time.

    The start of the first timed word at or after the cut, when there is one;
    otherwise in proportion to the characters.
    """
    after = [t for first, _end, t, _p in words if first >= at]
    if after and start <= min(after) <= end:
        return min(after)
    share = at / len(text) if text else 0.0
    return round(start + (end - start) * share, 3)


def save_edits(
    session: Session,
    job_id: int,
    *,
    expected_version: int,
    ops: Sequence[Mapping[str, Any]],
    tab: str,
    user: str,
    now: datetime,
) -> SaveResult:
    """Apply one save's operations, if it was made on the document's current version.

    Call inside a transaction: the version moves on and the operations are
    applied and logged together, or not at all.

    Raises:
        VersionConflict: another save came first (the document is unchanged).
        DocumentFinished: the correction is finished (修正完了).
        EditError: an operation cannot be applied (nothing of the save is kept).
    """
    if len(ops) > MAX_OPS:
        raise EditError(f"一度に保存できる操作は{MAX_OPS}件までです")
    moved = session.execute(
        update(EditDocument)
        .where(
            EditDocument.job_id == job_id,
            EditDocument.version == expected_version,
            EditDocument.state == EDITING,
        )
        .values(version=EditDocument.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        doc = session.get(EditDocument, job_id, populate_existing=True)
        if doc is None:
            raise EditError(f"ジョブ #{job_id} の編集中の議事録はありません")
        if doc.state != EDITING:
            raise DocumentFinished
        raise VersionConflict(doc.version)
    editor = _Editor(session, job_id)
    for op in ops:
        if not isinstance(op, Mapping):
            raise EditError("操作の形が正しくありません")
        editor.apply(op)
    version = expected_version + 1
    session.add(
        EditLogEntry(
            job_id=job_id,
            version=version,
            tab=tab[:40],
            user_name=user[:100],
            ops=json.dumps(list(ops), ensure_ascii=False),
            saved_at=now,
        )
    )
    session.flush()
    return SaveResult(version, editor.times)


def set_state(
    session: Session, job_id: int, state: str, *, tab: str, user: str, now: datetime
) -> int:
    """Finish (``finished``) or reopen (``editing``) the document; logged as a save of its own.

    Returns:
        The document's new version.
    """
    doc = session.get(EditDocument, job_id, with_for_update=True)
    if doc is None:
        raise EditError(f"ジョブ #{job_id} の編集中の議事録はありません")
    doc.state = state
    doc.version += 1
    doc.updated_at = now
    session.add(
        EditLogEntry(
            job_id=job_id,
            version=doc.version,
            tab=tab[:40],
            user_name=user[:100],
            ops=json.dumps([{"op": state}]),
            saved_at=now,
        )
    )
    session.flush()
    return doc.version
