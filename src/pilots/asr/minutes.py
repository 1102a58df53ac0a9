"""Writing the minutes draft (議事録案) of a transcript in every output format.

Formats:

* ``docx`` – the draft a clerk edits, filled into a Word template
  (``templates/minutes.docx``) that an office may replace with its own;
* ``md`` – the same draft as Markdown, from a Jinja2 template
  (``templates/minutes.md.j2``), also replaceable;
* ``txt`` – the plain transcript, one utterance a line;
* ``srt`` and ``vtt`` – subtitles, to check a passage against the recording;
* ``json`` – everything known, for other tools and the job log.

Every call writes all its files or none (see :func:`pilots.files.atomic_write_all`).

One module of about 600 lines, on purpose: every format is written from the
same lines and placeholders (:func:`minutes_lines`, :func:`placeholder_values`),
the two templates are found the same way, and the files are written together;
the Word part (about 170 lines) would need all of that back from here. The
sections below are its parts: what every format shows, templates, Markdown,
Word, the text formats, writing the files.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pilots.asr.marks import uncertain, word_spans
from pilots.asr.result import Transcript, Utterance, format_duration, format_timestamp
from pilots.calendar import format_date
from pilots.errors import ConfigError, InputFileError
from pilots.files import Writer, atomic_write_all, make_folder
from pilots.templating import environment, office_folder
from pilots.text import markdown_escape

if TYPE_CHECKING:
    import jinja2

FORMATS: tuple[str, ...] = ("docx", "md", "txt", "srt", "vtt", "json")

DOCX_TEMPLATE = "minutes.docx"
MARKDOWN_TEMPLATE = "minutes.md.j2"

BODY_MARKER = "本文"
"""The docx placeholder (``{{本文}}``) whose paragraph the body replaces."""

FILLERS_LABELS: dict[str, str] = {"remove": "除去", "keep": "そのまま"}

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
# Control characters XML cannot hold (Word would refuse the file; lxml refuses to write it).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --------------------------------------------------------------------------
# What every draft format shows


@dataclass(frozen=True)
class MinutesLine:
    """One paragraph of the draft's body (one utterance).

    Attributes:
        start: the start as ``hh:mm:ss``.
        end: the end as ``hh:mm:ss``.
        text: the utterance on one line.
        flag_reasons: why the clerk should check it (要確認), in Japanese.
        unsure: the words of ``text`` the model was unsure of (first and end
            character), when the draft marks them (:mod:`pilots.asr.marks`).
        speaker: who speaks (話者1, 議長 …); empty when the speakers were not told apart.
    """

    start: str
    end: str
    text: str
    flag_reasons: tuple[str, ...] = ()
    unsure: tuple[tuple[int, int], ...] = ()
    speaker: str = ""

    @property
    def flagged(self) -> bool:
        """Whether the clerk should check this paragraph first."""
        return bool(self.flag_reasons)

    @property
    def flag_note(self) -> str:
        """The reasons joined for display: ``繰り返しの疑い、無音区間の文字``."""
        return "、".join(self.flag_reasons)


NO_SPEECH_NOTE = "音声が検出されませんでした（話し声のない録音です。利用件数には数えません）"


def one_line(text: str) -> str:
    """Put ``text`` on one line: the draft has one paragraph (or cue) per utterance.

    Control characters are dropped on the way: no format can show them.
    """
    parts = (part.strip() for part in _CONTROL.sub("", text).splitlines())
    return " ".join(part for part in parts if part)


def spoken_line(speaker: str | None, text: str) -> str:
    """A draft's line: ``text`` on one line, after ``speaker`` where there is one (``議長：…``)."""
    text = one_line(text)
    return f"{speaker}：{text}" if speaker and text else text


def _unsure(utterance: Utterance, line: str, below: float) -> tuple[tuple[int, int], ...]:
    """Where on its line an utterance's uncertain words stand (none when below is 0).

    The line is the utterance's text (its speaker is a field of its own); a text
    that had to be put on one line no longer matches its words' places: no marks.
    """
    if below <= 0 or not utterance.words or line != utterance.text:
        return ()
    spans = uncertain(word_spans(utterance.text, utterance.words), below)
    return tuple((s.first, s.end) for s in spans)


def minutes_lines(transcript: Transcript, *, unsure_below: float = 0.0) -> list[MinutesLine]:
    """The body of the draft: one line per utterance that has text or a flag.

    An utterance left empty by filler removal is dropped, unless it is flagged:
    the clerk must still see where the model wrote something doubtful. A
    recording without any speech gets one flagged line that says so. With
    ``unsure_below`` (the ``asr.uncertain_word_probability`` setting), each line
    knows its words of a lower probability.
    """
    if transcript.no_speech:
        return [
            MinutesLine(
                start=format_timestamp(0),
                end=format_timestamp(transcript.duration),
                text="",
                flag_reasons=(NO_SPEECH_NOTE,),
            )
        ]
    lines = []
    for utterance in transcript.utterances:
        text = one_line(utterance.text)
        if not text and not utterance.flags:
            continue
        lines.append(
            MinutesLine(
                start=format_timestamp(utterance.start),
                end=format_timestamp(utterance.end),
                text=text,
                flag_reasons=tuple(dict.fromkeys(flag.reason for flag in utterance.flags)),
                unsure=_unsure(utterance, text, unsure_below),
                speaker=utterance.speaker or "",
            )
        )
    return lines


def speakers_summary(transcript: Transcript) -> str:
    """The 話者 line of the closing block: ``3人（議長、話者2、話者3）``, or why there is none."""
    if transcript.speakers:
        names = "、".join(speaker.name for speaker in transcript.speakers)
        return f"{len(transcript.speakers)}人（{names}）・自動判別"
    return transcript.speaker_problem or "区別なし"


def placeholder_values(transcript: Transcript) -> dict[str, str]:
    """The values of the template placeholders, by their Japanese names.

    Header: 会議名, 日時 (Japanese era), 場所, 出席者, 所属 — empty where not
    given, so that the template shows a blank to write on. Closing: モデル,
    録音時間 and 処理時間 (h:mm:ss), 要確認箇所 (a bare count; the template adds
    件), フィラー, 用語集, 話者 (:func:`speakers_summary`) and 音声ファイル.
    """
    meeting = transcript.meeting
    if transcript.glossary_terms:
        glossary = f"{transcript.glossary_terms}語（置換 {transcript.glossary_replacements}件）"
    else:
        glossary = "なし"
    if transcript.steps:
        glossary += "・" + "・".join(transcript.steps)
    return {
        "会議名": meeting.title,
        "日時": format_date(meeting.date) if meeting.date else "",
        "場所": meeting.place,
        "出席者": meeting.attendees,
        "所属": meeting.department,
        "モデル": transcript.model,
        "録音時間": format_duration(transcript.duration),
        "処理時間": format_duration(transcript.processing_seconds),
        "要確認箇所": str(transcript.flag_count),
        "フィラー": FILLERS_LABELS.get(transcript.fillers, transcript.fillers),
        "用語集": glossary,
        "話者": speakers_summary(transcript),
        "音声ファイル": transcript.audio.name,
    }


# --------------------------------------------------------------------------
# Templates: an office's own first, then the shipped one


def _shipped_template(name: str) -> Traversable:
    return resources.files("pilots.asr").joinpath("templates", name)


def _office_template(template_dir: Path | None, name: str) -> Path | None:
    folder = office_folder(template_dir)
    candidate = folder / name if folder is not None else None
    return candidate if candidate is not None and candidate.is_file() else None


# --------------------------------------------------------------------------
# Markdown


def _markdown_finalize(value: Any) -> Any:
    # Escaping every {{ ... }} here, the way autoescape does for HTML, means an
    # office's own template cannot forget it; `|safe` opts out.
    from markupsafe import Markup

    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    return markdown_escape(str(value))


def _markdown_environment(template_dir: Path | None) -> jinja2.Environment:
    # Markdown, not HTML: _markdown_finalize escapes instead of autoescape.
    return environment(
        "pilots.asr", template_dir, autoescape=False, finalize=_markdown_finalize, trim_blocks=True
    )


def render_markdown(transcript: Transcript, template_dir: Path | None = None) -> str:
    """Render the Markdown draft.

    The template sees ``meeting`` (title, date, place, attendees, department as
    display strings), ``lines`` (:class:`MinutesLine`), ``closing`` (model,
    duration, processing, flag_count, fillers, glossary, speakers), ``fields`` (the
    :func:`placeholder_values`) and ``transcript`` itself.

    Raises:
        InputFileError: the template has a syntax error or an unknown name.
    """
    import jinja2

    values = placeholder_values(transcript)
    context = {
        "meeting": {
            "title": values["会議名"],
            "date": values["日時"],
            "place": values["場所"],
            "attendees": values["出席者"],
            "department": values["所属"],
        },
        "lines": minutes_lines(transcript),
        "closing": {
            "model": values["モデル"],
            "duration": values["録音時間"],
            "processing": values["処理時間"],
            "flag_count": transcript.flag_count,
            "fillers": values["フィラー"],
            "glossary": values["用語集"],
            "speakers": values["話者"],
        },
        "fields": values,
        "transcript": transcript,
    }
    environment = _markdown_environment(template_dir)
    try:
        template = environment.get_template(MARKDOWN_TEMPLATE)
    except jinja2.TemplateSyntaxError as error:
        raise InputFileError(
            error.filename or MARKDOWN_TEMPLATE,
            f"テンプレートの書き方に誤りがあります: {error.message}",
            line=error.lineno,
        ) from error
    try:
        return str(template.render(context))
    except jinja2.UndefinedError as error:
        raise InputFileError(
            template.filename or MARKDOWN_TEMPLATE,
            f"テンプレートに使えない名前があります: {error.message}",
        ) from error


# --------------------------------------------------------------------------
# Word


def _open_docx_template(template_dir: Path | None) -> tuple[Any, str]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    office = _office_template(template_dir, DOCX_TEMPLATE)
    if office is not None:
        source: str | io.BytesIO = str(office)
        where = str(office)
    else:
        shipped = _shipped_template(DOCX_TEMPLATE)
        source = io.BytesIO(shipped.read_bytes())
        where = str(shipped)
    try:
        return docx.Document(source), where
    # SyntaxError covers lxml's XMLSyntaxError (a damaged part inside the zip).
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as error:
        raise InputFileError(where, "Word の文書（.docx）として読めません") from error


def _xml_parts(document: Any) -> list[Any]:
    """The root elements of the document body, its headers and its footers."""
    from docx.opc.constants import CONTENT_TYPE
    from docx.opc.part import XmlPart

    wanted = {
        CONTENT_TYPE.WML_DOCUMENT_MAIN,
        CONTENT_TYPE.WML_HEADER,
        CONTENT_TYPE.WML_FOOTER,
    }
    return [
        part.element
        for part in document.part.package.iter_parts()
        if isinstance(part, XmlPart) and part.content_type in wanted
    ]


def _paragraphs(root: Any) -> list[Any]:
    # Every w:p below root: table cells (nested too) and text boxes included,
    # where letterheads often put their fields.
    from docx.oxml.ns import qn

    return list(root.iter(qn("w:p")))


def _paragraph_text(paragraph: Any) -> str:
    return "".join(run.text for run in paragraph.r_lst)


def _replace_placeholders(paragraph: Any, values: dict[str, str]) -> None:
    """Replace the known ``{{name}}`` placeholders in one paragraph.

    Word often splits a placeholder over several runs (spell checking, a
    language change between the braces and the name), so the match is made on
    the paragraph's text and the value goes into the run where the
    placeholder starts, keeping that run's formatting; the rest of the
    placeholder is cut out of the runs that follow. Unknown names stay as they are.
    """
    runs = list(paragraph.r_lst)
    original = [run.text for run in runs]
    matches = [m for m in _PLACEHOLDER.finditer("".join(original)) if m.group(1) in values]
    if not matches:
        return
    owner = [index for index, text in enumerate(original) for _ in text]
    offsets = [sum(len(text) for text in original[:index]) for index in range(len(original))]
    texts = list(original)
    # From the last match back, so the offsets of the earlier ones stay valid.
    for match in reversed(matches):
        first, last = owner[match.start()], owner[match.end() - 1]
        head = texts[first][: match.start() - offsets[first]]
        tail = texts[last][match.end() - offsets[last] :]
        value = values[match.group(1)]
        if first == last:
            texts[first] = head + value + tail
        else:
            texts[first] = head + value
            for middle in range(first + 1, last):
                texts[middle] = ""
            texts[last] = tail
    for run, old, new in zip(runs, original, texts, strict=True):
        if old != new:
            run.text = new


def _body_paragraph(marker: Any, line: MinutesLine, *, keep_section: bool) -> Any:
    """A copy of the marker paragraph (style, indents, font) holding one line."""
    from docx.enum.text import WD_COLOR_INDEX, WD_UNDERLINE
    from docx.oxml.ns import qn
    from docx.shared import RGBColor
    from docx.text.font import Font

    UNSURE_COLOR = RGBColor(0xB3, 0x26, 0x1E)
    paragraph = copy.deepcopy(marker)
    for child in list(paragraph):
        if child.tag != qn("w:pPr"):
            paragraph.remove(child)
    # Word's paragraph ids must stay unique; it makes new ones when they are absent.
    for name in [n for n in paragraph.attrib if n.startswith("{http://schemas.microsoft.com/")]:
        del paragraph.attrib[name]
    properties = paragraph.pPr
    if properties is not None and not keep_section and properties.sectPr is not None:
        # A section break on the marker belongs after the body, not after every line.
        properties.remove(properties.sectPr)
    run_properties = next((r.rPr for r in marker.r_lst if r.rPr is not None), None)

    def add(text: str, *, bold: bool = False, unsure: bool = False) -> None:
        element = paragraph.add_r()
        if run_properties is not None:
            element.insert(0, copy.deepcopy(run_properties))
        element.text = text
        if line.flagged:
            element.get_or_add_rPr().highlight_val = WD_COLOR_INDEX.YELLOW
        if bold:
            Font(element).bold = True
        if unsure:  # like Word's own spelling marks: the eye goes there first
            properties = element.get_or_add_rPr()
            properties.u_val = WD_UNDERLINE.WAVY
            properties.get_or_add_color().val = UNSURE_COLOR

    add(f"[{line.start}] ")
    if line.speaker:
        add(f"{line.speaker}：", bold=True)
    if line.flagged:
        add(f"【要確認: {line.flag_note}】", bold=True)
    reach = 0
    for first, end in line.unsure:
        if first > reach:
            add(line.text[reach:first])
        add(line.text[first:end], unsure=True)
        reach = end
    if line.text[reach:]:
        add(line.text[reach:])
    return paragraph


def build_docx(
    transcript: Transcript, template_dir: Path | None = None, *, unsure_below: float = 0.0
) -> Any:
    """Fill the Word template and return the ``docx.Document``.

    Placeholders (see :func:`placeholder_values`) are replaced in the body,
    tables, text boxes, headers and footers. The first paragraph holding
    ``{{本文}}`` is replaced by one paragraph per utterance,
    ``[hh:mm:ss] 話者1：text`` (the speaker in bold, when told apart), each a copy
    of that paragraph's formatting; a flagged one is highlighted in yellow and
    marked 【要確認: reason】. With ``unsure_below``, words of a lower probability
    have a wavy red underline.

    Raises:
        InputFileError: the template cannot be read or has no ``{{本文}}``.
    """
    document, where = _open_docx_template(template_dir)
    values = {
        name: _CONTROL.sub("", value) for name, value in placeholder_values(transcript).items()
    }
    marker = None
    for root in _xml_parts(document):
        for paragraph in _paragraphs(root):
            # The marker is found before, and the body inserted after, the values
            # go in: a meeting title or a speaker may well contain "{{本文}}".
            if marker is None and root is document.element:
                names = _PLACEHOLDER.findall(_paragraph_text(paragraph))
                if BODY_MARKER in names:
                    marker = paragraph
            _replace_placeholders(paragraph, values)
    if marker is None:
        raise InputFileError(where, "テンプレートに {{本文}} がありません")

    lines = minutes_lines(transcript, unsure_below=unsure_below)
    for index, line in enumerate(lines):
        keep_section = index == len(lines) - 1
        marker.addprevious(_body_paragraph(marker, line, keep_section=keep_section))
    if lines:
        marker.getparent().remove(marker)
    else:
        # A table cell must keep one paragraph; an empty body is an empty paragraph.
        for run in list(marker.r_lst):
            marker.remove(run)

    properties = document.core_properties
    properties.title = f"議事録（案）{values['会議名']}".strip()
    properties.created = properties.modified = datetime.now().replace(microsecond=0)
    properties.revision = 1
    return document


# --------------------------------------------------------------------------
# Plain text, subtitles, JSON


def render_txt(transcript: Transcript) -> str:
    """The plain transcript: one utterance a line, ``話者1：text`` when speakers were told apart."""
    texts = [spoken_line(u.speaker, u.text) for u in transcript.utterances]
    return "".join(f"{text}\n" for text in texts if text)


def _cues(transcript: Transcript) -> list[tuple[float, float, str, str]]:
    cues = []
    for utterance in transcript.utterances:
        text = one_line(utterance.text)
        if text:
            end = max(utterance.end, utterance.start)
            cues.append((utterance.start, end, text, utterance.speaker or ""))
    return cues


def render_srt(transcript: Transcript) -> str:
    """SubRip subtitles: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, ``<v 話者1>text``."""
    blocks = []
    for number, (start, end, text, speaker) in enumerate(_cues(transcript), start=1):
        start_text = format_timestamp(start, millis=True, sep=",")
        end_text = format_timestamp(end, millis=True, sep=",")
        voice = f"<v {speaker}>" if speaker else ""
        blocks.append(f"{number}\n{start_text} --> {end_text}\n{voice}{text}\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    # Cue text is markup in WebVTT: "<" opens a tag, "&" an entity, "-->" ends the timing.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(transcript: Transcript) -> str:
    """WebVTT subtitles: ``WEBVTT`` then cues ``HH:MM:SS.mmm --> HH:MM:SS.mmm``.

    The speaker is a voice span, ``<v 話者1>text``.
    """
    blocks = ["WEBVTT\n"]
    for start, end, text, speaker in _cues(transcript):
        start_text = format_timestamp(start, millis=True, sep=".")
        end_text = format_timestamp(end, millis=True, sep=".")
        voice = f"<v {_vtt_escape(speaker)}>" if speaker else ""
        blocks.append(f"{start_text} --> {end_text}\n{voice}{_vtt_escape(text)}\n")
    return "\n".join(blocks)


def _segment(utterance: Utterance) -> dict[str, Any]:
    return {
        "start": utterance.start,
        "end": utterance.end,
        "text": utterance.text,
        "raw_text": utterance.raw_text,
        "avg_logprob": utterance.avg_logprob,
        "compression_ratio": utterance.compression_ratio,
        "no_speech_prob": utterance.no_speech_prob,
        "words": [
            {"start": w.start, "end": w.end, "text": w.text, "probability": w.probability}
            for w in utterance.words
        ],
        "flags": [{"kind": f.kind, "reason": f.reason} for f in utterance.flags],
        "speaker": utterance.speaker,
    }


def segments_as_data(transcript: Transcript) -> list[dict[str, Any]]:
    """The utterances as the JSON draft's ``segments`` have them (also kept with the job)."""
    return [_segment(u) for u in transcript.utterances]


def transcript_as_dict(transcript: Transcript) -> dict[str, Any]:
    """The JSON output as plain data: ``{"metadata": {...}, "segments": [...]}``.

    Every segment carries ``"speaker"`` (null when the speakers were not told apart);
    ``metadata.speakers`` lists them (label, name, seconds, and the closest reference
    voice with its similarity).
    """
    meeting = transcript.meeting
    return {
        "metadata": {
            "audio": str(transcript.audio),
            "sha256": transcript.audio_sha256,
            "duration": transcript.duration,
            "language": transcript.language,
            "model": transcript.model,
            "processing_seconds": transcript.processing_seconds,
            "meeting": {
                "title": meeting.title,
                "date": meeting.date.isoformat() if meeting.date else None,
                "place": meeting.place,
                "attendees": meeting.attendees,
                "department": meeting.department,
            },
            "fillers": transcript.fillers,
            "glossary_terms": transcript.glossary_terms,
            "glossary_replacements": transcript.glossary_replacements,
            "flag_count": transcript.flag_count,
            "no_speech": transcript.no_speech,
            "speakers": [
                {
                    "label": s.label,
                    "name": s.name,
                    "seconds": s.seconds,
                    "voice": s.voice or None,
                    "similarity": s.similarity,
                }
                for s in transcript.speakers
            ],
            "speaker_problem": transcript.speaker_problem or None,
            "steps": list(transcript.steps),
            "improvements": [asdict(item) for item in transcript.improvements],
        },
        "segments": segments_as_data(transcript),
    }


def render_json(transcript: Transcript) -> str:
    """The JSON output: UTF-8 text, Japanese kept as is, indented."""
    return json.dumps(transcript_as_dict(transcript), ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------
# Writing the files


def _text_writer(text: str) -> Writer:
    # Bytes, not text mode: LF line ends on Windows too.
    data = text.encode("utf-8")
    return lambda path: path.write_bytes(data)


def _prepare_docx(transcript: Transcript, template_dir: Path | None, unsure_below: float) -> Writer:
    document = build_docx(transcript, template_dir, unsure_below=unsure_below)
    return lambda path: document.save(str(path))


_Preparer = Callable[[Transcript, Path | None], Writer]

# Each preparer does the work that can fail on the user's input (reading and
# filling a template) and returns a writer that only saves, so that a bad
# template is reported before any file is started.
# The text formats; docx is prepared with the uncertain-word marks (write_outputs).
_PREPARERS: dict[str, _Preparer] = {
    "md": lambda t, d: _text_writer(render_markdown(t, d)),
    "txt": lambda t, d: _text_writer(render_txt(t)),
    "srt": lambda t, d: _text_writer(render_srt(t)),
    "vtt": lambda t, d: _text_writer(render_vtt(t)),
    "json": lambda t, d: _text_writer(render_json(t)),
}


def check_formats(formats: Sequence[str]) -> list[str]:
    """Return the formats asked for, lower-cased, each once, in the order given.

    Raises:
        ConfigError: a format is not one of :data:`FORMATS`, or none is given.
    """
    chosen = list(dict.fromkeys(f.strip().lower().lstrip(".") for f in formats))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise ConfigError(
            "format", f"{', '.join(unknown)} は出力できません（{', '.join(FORMATS)} のいずれか）"
        )
    if not chosen:
        raise ConfigError("format", "出力形式を一つ以上指定してください")
    return chosen


def write_outputs(
    transcript: Transcript,
    out_dir: Path,
    formats: Sequence[str],
    *,
    stem: str | None = None,
    template_dir: Path | None = None,
    unsure_below: float = 0.0,
) -> list[Path]:
    """Write the draft in each format as ``out_dir/<stem>.<format>``, all or nothing.

    Each file is written at a temporary name in ``out_dir`` and renamed into
    place only when every format has been written; if anything fails
    (KeyboardInterrupt included) no new or temporary file is left and files
    from an earlier run stay as they were.

    Args:
        transcript: what to write.
        out_dir: the folder (created if missing).
        formats: some of :data:`FORMATS`.
        stem: the file name without extension; the recording's by default.
        template_dir: a folder whose ``minutes.docx`` / ``minutes.md.j2``, where
            present, replace the shipped templates (an office's own).
        unsure_below: the Word draft underlines the words of a lower probability
            (the ``asr.uncertain_word_probability`` setting); 0 marks none.

    Returns:
        The files written, in the order of ``formats``.

    Raises:
        ConfigError: an unknown format.
        InputFileError: a template cannot be used.
        OutputFileError: a file cannot be written (e.g. the old one is open in Word).
    """
    chosen = check_formats(formats)
    stem = stem or transcript.audio.stem
    writers = [
        (
            fmt,
            _prepare_docx(transcript, template_dir, unsure_below)
            if fmt == "docx"
            else _PREPARERS[fmt](transcript, template_dir),
        )
        for fmt in chosen
    ]
    make_folder(out_dir)
    return atomic_write_all([(out_dir / f"{stem}.{fmt}", writer) for fmt, writer in writers])
