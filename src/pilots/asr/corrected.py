"""Reading a clerk's corrected minutes (修正後の議事録: docx, md, txt) for the draft accuracy.

A clerk who corrects the draft in Word (or in a text editor) hands the file
back with ``pilots asr correction JOB MINUTES --corrected FILE`` or on the
議事録作成 page; the draft accuracy of SPEC §3 compares its **body** with the
draft's utterances. What is compared, exactly:

* the body runs from the first to the last paragraph (line) that starts with
  the time stamp the draft puts before every utterance, ``[hh:mm:ss]``. The
  header block above it (会議名, 日時, 場所, 出席者, 所属) and the closing block
  below it (作成情報: モデル, 録音時間 …) are not part of it, whatever the
  office's template puts there; so text a clerk adds after the last stamped
  paragraph is not compared either — keep the stamps while correcting;
* in the body, every ``[hh:mm:ss]`` stamp and every 【要確認: …】 note the
  draft added are removed (they were never the draft's text); paragraphs
  the clerk added, split or merged between stamps count as they are;
* a Word file is read from its main text, tables included, as if every
  tracked change (変更履歴) were accepted: inserted text counts, deleted text
  does not; headers, footers and comments are not read;
* a plain-text file without any stamp (the ``txt`` draft has none) is its
  body as a whole; a Word or Markdown file without one is refused, because
  its header could not be told from its body;
* Markdown's escapes (``\\*``, ``&lt;``) are read back as the characters they stand for.

Spacing, line breaks and punctuation do not matter: the comparison
normalises them away (:func:`pilots.asr.metrics.normalise_for_cer`).
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from pilots.errors import InputFileError
from pilots.tabular import decode

CORRECTED_SUFFIXES = (".docx", ".md", ".txt")
"""The corrected minutes read: the draft's own formats that hold its text."""

_STAMP_AT_START = re.compile(r"^\s*\[\d{1,2}:\d{2}:\d{2}\]")
_STAMP = re.compile(r"\[\d{1,2}:\d{2}:\d{2}\]")
_FLAG_NOTE = re.compile(r"(?:\*\*)?【要確認[:：][^】]*】(?:\*\*)?")
_MARKDOWN_ESCAPE = re.compile(r"\\(.)")
_NO_BODY = (
    "本文が見つかりません。議事録案の各発言の先頭にある時刻 [00:00:00] がひとつもありません"
    "（時刻を消さずに修正したファイルを指定してください）"
)


@dataclass(frozen=True)
class CorrectedMinutes:
    """The body of a corrected minutes file, as the draft accuracy compares it.

    Attributes:
        name: the file's name (for messages and the correction history).
        text: the body, one paragraph a line, without stamps and 要確認 notes.
        paragraphs: the paragraphs (lines) of the body that hold text.
    """

    name: str
    text: str
    paragraphs: int


def _docx_paragraphs(data: bytes, where: str) -> list[str]:
    """The text of every paragraph of the document's main part, in order."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.oxml.ns import qn

    try:
        document = docx.Document(io.BytesIO(data))
    # SyntaxError covers lxml's XMLSyntaxError (a damaged part inside the zip).
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as error:
        raise InputFileError(where, "Word の文書（.docx）として読めません") from error
    paragraph_tag, text_tag = qn("w:p"), qn("w:t")
    texts: dict[Any, list[str]] = {}
    for paragraph in document.element.body.iter(paragraph_tag):
        texts[paragraph] = []
    # Each w:t belongs to its nearest paragraph (a text box nests paragraphs in one);
    # text in w:ins (a tracked insertion) is w:t, a tracked deletion is w:delText.
    for run_text in document.element.body.iter(text_tag):
        owner = next(run_text.iterancestors(paragraph_tag), None)
        if owner is not None and owner in texts:
            texts[owner].append(run_text.text or "")
    return ["".join(parts) for parts in texts.values()]


def _body(lines: list[str], *, stamps_required: bool, where: str) -> list[str]:
    stamped = [i for i, line in enumerate(lines) if _STAMP_AT_START.match(line)]
    if not stamped:
        if stamps_required:
            raise InputFileError(where, _NO_BODY)
        return lines
    return lines[stamped[0] : stamped[-1] + 1]


def _suffix(name: str) -> str:
    """The file's kind by its suffix: ``.docx``, ``.md`` or ``.txt``; anything else is refused."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in CORRECTED_SUFFIXES:
        raise InputFileError(
            name, "修正後の議事録は Word（.docx）、Markdown（.md）、テキスト（.txt）のいずれかです"
        )
    return suffix


def parse_corrected(data: bytes, name: str) -> CorrectedMinutes:
    """The body of corrected minutes given as bytes, by the rules of this module.

    ``name`` is the file's name or path, for messages; its suffix says what the
    file is: ``.docx`` (Word), ``.md`` (Markdown) or ``.txt`` (text in UTF-8,
    UTF-8 with BOM or Shift_JIS).

    Raises:
        InputFileError: the file is of another kind, cannot be read, or has no
            body (the message names ``name``).
    """
    suffix = _suffix(name)
    if not data:
        raise InputFileError(name, "空のファイルです")
    if suffix == ".docx":
        body = _body(_docx_paragraphs(data, name), stamps_required=True, where=name)
    else:
        text, _encoding = decode(Path(name), data)
        if "\x00" in text:
            raise InputFileError(name, "テキストとして読めません（文書ファイルではありませんか）")
        body = _body(text.splitlines(), stamps_required=suffix == ".md", where=name)
        if suffix == ".md":
            body = [html.unescape(_MARKDOWN_ESCAPE.sub(r"\1", line)) for line in body]
    cleaned = [_STAMP.sub("", _FLAG_NOTE.sub("", line)).strip() for line in body]
    kept = [line for line in cleaned if line]
    return CorrectedMinutes(name, "".join(f"{line}\n" for line in kept), len(kept))


def read_corrected(path: Path) -> CorrectedMinutes:
    """The body of a corrected minutes file (``.docx``, ``.md`` or ``.txt``).

    Raises:
        InputFileError: the file is of another kind, cannot be read, or has no body.
    """
    _suffix(str(path))  # a picture or a PDF is refused before it is read
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputFileError(path, f"読めません（{error.strerror or error}）") from error
    return parse_corrected(data, str(path))
