"""The minutes draft in every format, office templates, and all-or-nothing writing."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pilots.asr import minutes
from pilots.asr.minutes import FORMATS, write_outputs
from pilots.asr.result import Flag, MeetingInfo, Speaker, Transcript, Utterance, Word
from pilots.errors import ConfigError, InputFileError, OutputFileError
from pilots.files import Writer, atomic_write

docx = pytest.importorskip("docx")
from docx.enum.text import WD_COLOR_INDEX  # noqa: E402

REASON = "繰り返しの疑い"


def make_transcript(meeting: MeetingInfo | None = None) -> Transcript:
    return Transcript(
        audio=Path("/recordings/teirei_0501.flac"),
        audio_sha256="0" * 64,
        duration=90.4,
        language="ja",
        model="base",
        processing_seconds=12.2,
        meeting=meeting if meeting is not None else MeetingInfo(),
        utterances=[
            Utterance(
                5.0,
                9.25,
                "それでは定例会議を始めます。",
                "えーそれでは定例会議を始めます",
                avg_logprob=-0.2,
                words=[Word(5.0, 5.6, "それでは", 0.98)],
            ),
            Utterance(
                12.5,
                20.0,
                "予算の執行状況について報告します。",
                "予算の執行状況について報告します",
            ),
            Utterance(
                31.0,
                40.125,
                "よろしくお願いします。よろしくお願いします。よろしくお願いします。",
                "よろしくお願いします。よろしくお願いします。よろしくお願いします。",
                compression_ratio=3.1,
                flags=[Flag("repeat", REASON)],
            ),
            Utterance(75.0, 88.0, "次回は*6月*に開催します。", "次回は6月に開催します"),
        ],
        glossary_terms=12,
        glossary_replacements=3,
    )


FULL_MEETING = MeetingInfo(
    title="令和元年度 第1回 定例会議",
    date=date(2019, 5, 1),
    place="本庁舎 第3会議室",
    attendees="山田課長、佐藤係長、鈴木主事",
    department="総務部 情報政策課",
)
BODY = [
    "[00:00:05] それでは定例会議を始めます。",
    "[00:00:12] 予算の執行状況について報告します。",
    f"[00:00:31] 【要確認: {REASON}】"
    "よろしくお願いします。よろしくお願いします。よろしくお願いします。",
    "[00:01:15] 次回は*6月*に開催します。",
]


@pytest.fixture
def full() -> Transcript:
    return make_transcript(FULL_MEETING)


@pytest.fixture
def bare() -> Transcript:
    """No meeting information at all: no title, and the date not set."""
    return make_transcript()


def open_docx(path: Path) -> Any:
    return docx.Document(str(path))


def header_cells(document: Any) -> dict[str, str]:
    return {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}


def texts(document: Any) -> list[str]:
    return [p.text for p in document.paragraphs]


# --------------------------------------------------------------------------
# docx


def test_docx_has_header_body_in_order_and_closing(full: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(full, tmp_path, ["docx"])
    assert path == tmp_path / "teirei_0501.docx"
    document = open_docx(path)
    assert header_cells(document) == {
        "会議名": "令和元年度 第1回 定例会議",
        "日時": "令和元年5月1日",
        "場所": "本庁舎 第3会議室",
        "出席者": "山田課長、佐藤係長、鈴木主事",
        "所属": "総務部 情報政策課",
    }
    paragraphs = texts(document)
    assert paragraphs[0] == "議事録（案）"
    body = [p for p in paragraphs if p.startswith("[")]
    assert body == BODY
    assert "モデル：base" in paragraphs
    assert "録音時間：0:01:30" in paragraphs
    assert "処理時間：0:00:12" in paragraphs
    assert "要確認箇所：1件" in paragraphs
    assert "フィラー：除去" in paragraphs
    assert "用語集：12語（置換 3件）" in paragraphs
    assert "話者：区別なし" in paragraphs
    assert not any("{{" in p for p in paragraphs)
    assert document.sections[0].header.paragraphs[0].text == "令和元年度 第1回 定例会議"


def test_docx_highlights_only_the_flagged_paragraph(full: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(full, tmp_path, ["docx"])
    body = [p for p in open_docx(path).paragraphs if p.text.startswith("[")]
    highlighted = [
        p.text for p in body if all(r.font.highlight_color == WD_COLOR_INDEX.YELLOW for r in p.runs)
    ]
    assert highlighted == [BODY[2]]
    assert all(r.font.highlight_color is None for p in body[:2] for r in p.runs)
    # The mark is bold, so that it stands out in black and white print too.
    assert [r.text for r in body[2].runs if r.bold] == [f"【要確認: {REASON}】"]


def test_docx_is_a4_with_a_japanese_font(full: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(full, tmp_path, ["docx"])
    document = open_docx(path)
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    fonts = document.styles.element.xpath("//w:docDefaults//w:rFonts/@w:eastAsia")
    assert fonts == ["ＭＳ 明朝"]


def test_docx_leaves_blanks_for_an_unknown_meeting(bare: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(bare, tmp_path, ["docx"])
    document = open_docx(path)
    assert header_cells(document) == {
        "会議名": "",
        "日時": "",
        "場所": "",
        "出席者": "",
        "所属": "",
    }
    assert [p for p in texts(document) if p.startswith("[")] == BODY


def test_empty_transcript_writes_an_empty_body(tmp_path: Path) -> None:
    transcript = make_transcript()
    transcript.utterances = []
    paths = write_outputs(transcript, tmp_path, FORMATS)
    assert [p.suffix for p in paths] == [f".{f}" for f in FORMATS]
    assert (tmp_path / "teirei_0501.txt").read_text(encoding="utf-8") == ""
    assert "要確認箇所：0件" in texts(open_docx(tmp_path / "teirei_0501.docx"))


def test_control_characters_do_not_break_the_docx(tmp_path: Path) -> None:
    transcript = make_transcript(MeetingInfo(title="定例\x0b会議"))
    transcript.utterances[0].text = "始めます\x00。\n続けて"
    write_outputs(transcript, tmp_path, ["docx", "txt"])
    document = open_docx(tmp_path / "teirei_0501.docx")
    assert header_cells(document)["会議名"] == "定例会議"
    assert "[00:00:05] 始めます。 続けて" in texts(document)
    txt = (tmp_path / "teirei_0501.txt").read_text(encoding="utf-8")
    assert txt.startswith("始めます。 続けて\n")


# --------------------------------------------------------------------------
# An office's own templates


def office_docx(path: Path, *, with_body: bool = True) -> Path:
    """A letterhead template as Word saves it: placeholders split over several runs."""
    document = docx.Document()
    document.sections[0].footer.paragraphs[0].add_run("{{所")
    document.sections[0].footer.paragraphs[0].add_run("属}}　作成")
    document.add_paragraph("○○市 会議録（下書き）")
    title = document.add_paragraph("件名：")
    bold = title.add_run("{{")
    bold.bold = True
    title.add_run("会議")
    title.add_run("名}}")
    title.add_run(" / {{日時}} / {{不明}}")
    table = document.add_table(rows=1, cols=1)
    cell = table.cell(0, 0)
    cell.paragraphs[0].add_run("記録")
    if with_body:
        cell.add_paragraph().add_run("{{本文}}").italic = True
    document.add_paragraph("確認{{要確認箇所}}件、{{モデル}}")
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def test_office_docx_template_replaces_the_shipped_one(full: Transcript, tmp_path: Path) -> None:
    office_docx(tmp_path / "templates" / "minutes.docx")
    [path] = write_outputs(full, tmp_path / "out", ["docx"], template_dir=tmp_path / "templates")
    document = open_docx(path)
    paragraphs = texts(document)
    assert paragraphs[0] == "○○市 会議録（下書き）"
    assert "議事録（案）" not in paragraphs
    # The value takes the formatting of the run where the placeholder began.
    title = document.paragraphs[1]
    assert title.text == "件名：令和元年度 第1回 定例会議 / 令和元年5月1日 / {{不明}}"
    assert [r.bold for r in title.runs if r.text][:2] == [None, True]
    assert "確認1件、base" in paragraphs
    cell = document.tables[0].cell(0, 0)
    assert [p.text for p in cell.paragraphs] == ["記録", *BODY]
    assert all(r.italic for p in cell.paragraphs[1:] for r in p.runs)
    assert document.sections[0].footer.paragraphs[0].text == "総務部 情報政策課　作成"


def test_office_docx_template_without_body_marker(full: Transcript, tmp_path: Path) -> None:
    template = office_docx(tmp_path / "templates" / "minutes.docx", with_body=False)
    out = tmp_path / "out"
    with pytest.raises(InputFileError) as caught:
        write_outputs(full, out, ["md", "docx"], template_dir=tmp_path / "templates")
    assert caught.value.path == str(template)
    assert "{{本文}}" in str(caught.value)
    assert not out.exists() or not any(out.iterdir())


def test_unreadable_docx_template(full: Transcript, tmp_path: Path) -> None:
    (tmp_path / "minutes.docx").write_text("not a zip", encoding="utf-8")
    with pytest.raises(InputFileError, match="Word"):
        write_outputs(full, tmp_path / "out", ["docx"], template_dir=tmp_path)


def test_office_markdown_template(full: Transcript, tmp_path: Path) -> None:
    (tmp_path / "minutes.md.j2").write_text(
        "\ufeff# {{ fields['会議名'] }} 会議録\n"
        "{% for line in lines %}{{ line.text }}\n{% endfor %}",
        encoding="utf-8",
    )
    [path] = write_outputs(full, tmp_path / "out", ["md"], template_dir=tmp_path)
    assert path.read_text(encoding="utf-8").splitlines()[0] == "# 令和元年度 第1回 定例会議 会議録"
    # Only the template the office gave is replaced; the Word one is still shipped.
    [docx_path] = write_outputs(full, tmp_path / "out", ["docx"], template_dir=tmp_path)
    assert texts(open_docx(docx_path))[0] == "議事録（案）"


def test_markdown_template_errors_name_the_file(full: Transcript, tmp_path: Path) -> None:
    template = tmp_path / "minutes.md.j2"
    template.write_text("{{ no_such_name }}\n", encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        write_outputs(full, tmp_path / "out", ["md"], template_dir=tmp_path)
    assert caught.value.path == str(template)
    template.write_text("ok\n{% for %}\n", encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        write_outputs(full, tmp_path / "out", ["md"], template_dir=tmp_path)
    assert caught.value.line == 2


def test_missing_template_dir(full: Transcript, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="フォルダ"):
        write_outputs(full, tmp_path, ["md"], template_dir=tmp_path / "nowhere")


# --------------------------------------------------------------------------
# Markdown, text, subtitles, JSON


def test_markdown_draft(full: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(full, tmp_path, ["md"])
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "# 議事録（案）"
    for expected in [
        "- 会議名: 令和元年度 第1回 定例会議",
        "- 日時: 令和元年5月1日",
        "- 場所: 本庁舎 第3会議室",
        "- 出席者: 山田課長、佐藤係長、鈴木主事",
        "- 所属: 総務部 情報政策課",
        "- モデル: base",
        "- 録音時間: 0:01:30",
        "- 処理時間: 0:00:12",
        "- 要確認箇所: 1件",
        "- フィラー: 除去",
        "- 用語集: 12語（置換 3件）",
    ]:
        assert expected in lines
    body = [line for line in lines if line.startswith("[")]
    assert body == [
        "[00:00:05] それでは定例会議を始めます。",
        "[00:00:12] 予算の執行状況について報告します。",
        f"[00:00:31] **【要確認: {REASON}】** "
        "よろしくお願いします。よろしくお願いします。よろしくお願いします。",
        r"[00:01:15] 次回は\*6月\*に開催します。",
    ]
    # One paragraph per utterance: a blank line between them.
    first = lines.index(body[0])
    assert lines[first + 1] == "" and lines[first + 2] == body[1]
    assert text.endswith("\n") and "\r" not in text


def test_markdown_leaves_blanks_for_an_unknown_meeting(bare: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(bare, tmp_path, ["md"])
    lines = [line.rstrip() for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[2:6] == ["- 会議名:", "- 日時:", "- 場所:", "- 出席者:"]
    assert not any(line.startswith("- 所属") for line in lines)


def test_txt_is_the_plain_transcript(full: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(full, tmp_path, ["txt"])
    assert path.read_bytes().decode("utf-8") == (
        "それでは定例会議を始めます。\n"
        "予算の執行状況について報告します。\n"
        "よろしくお願いします。よろしくお願いします。よろしくお願いします。\n"
        "次回は*6月*に開催します。\n"
    )


SRT_CUE = re.compile(
    r"(\d+)\n(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})\n(.+)\n", re.MULTILINE
)
VTT_CUE = re.compile(r"(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(.+)\n")
TIMINGS = [
    ("00:00:05", "000", "00:00:09", "250"),
    ("00:00:12", "500", "00:00:20", "000"),
    ("00:00:31", "000", "00:00:40", "125"),
    ("00:01:15", "000", "00:01:28", "000"),
]


def test_srt(full: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(full, tmp_path, ["srt"])
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    cues = [SRT_CUE.fullmatch(block if block.endswith("\n") else block + "\n") for block in blocks]
    assert all(cues) and len(cues) == 4
    assert [int(c.group(1)) for c in cues if c] == [1, 2, 3, 4]
    assert [(c.group(2), c.group(3)) for c in cues if c] == [
        (f"{a},{b}", f"{c},{d}") for a, b, c, d in TIMINGS
    ]
    assert [c.group(4) for c in cues if c][1] == "予算の執行状況について報告します。"


def test_vtt(full: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(full, tmp_path, ["vtt"])
    text = path.read_text(encoding="utf-8")
    header, *blocks = text.split("\n\n")
    assert header == "WEBVTT"
    cues = [VTT_CUE.fullmatch(block if block.endswith("\n") else block + "\n") for block in blocks]
    assert all(cues) and len(cues) == 4
    assert [(c.group(1), c.group(2)) for c in cues if c] == [
        (f"{a}.{b}", f"{c}.{d}") for a, b, c, d in TIMINGS
    ]


def test_json_round_trips(full: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(full, tmp_path, ["json"])
    raw = path.read_text(encoding="utf-8")
    assert "定例会議" in raw  # ensure_ascii=False: readable Japanese
    data = json.loads(raw)
    assert set(data) == {"metadata", "segments"}
    metadata = data["metadata"]
    assert metadata == {
        "audio": str(Path("/recordings/teirei_0501.flac")),
        "sha256": "0" * 64,
        "duration": 90.4,
        "language": "ja",
        "model": "base",
        "processing_seconds": 12.2,
        "meeting": {
            "title": "令和元年度 第1回 定例会議",
            "date": "2019-05-01",
            "place": "本庁舎 第3会議室",
            "attendees": "山田課長、佐藤係長、鈴木主事",
            "department": "総務部 情報政策課",
        },
        "fillers": "remove",
        "glossary_terms": 12,
        "glossary_replacements": 3,
        "flag_count": 1,
        "no_speech": False,
        "speakers": [],
        "speaker_problem": None,
        "steps": [],
        "improvements": [],
    }
    segments = data["segments"]
    assert len(segments) == 4
    assert set(segments[0]) == {
        "start",
        "end",
        "text",
        "raw_text",
        "avg_logprob",
        "compression_ratio",
        "no_speech_prob",
        "words",
        "flags",
        "speaker",
    }
    assert [s["speaker"] for s in segments] == [None] * 4  # not told apart: null, on every one
    assert segments[0]["words"] == [
        {"start": 5.0, "end": 5.6, "text": "それでは", "probability": 0.98}
    ]
    assert segments[0]["raw_text"] == "えーそれでは定例会議を始めます"
    assert segments[2]["flags"] == [{"kind": "repeat", "reason": REASON}]
    assert [s["end"] for s in segments] == [9.25, 20.0, 40.125, 88.0]


def test_json_with_no_meeting_date(bare: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(bare, tmp_path, ["json"])
    assert json.loads(path.read_text(encoding="utf-8"))["metadata"]["meeting"]["date"] is None


# --------------------------------------------------------------------------
# Speakers in every format


@pytest.fixture
def spoken() -> Transcript:
    """Speakers told apart: the first one named by the clerk, the second still 話者2."""
    transcript = make_transcript(FULL_MEETING)
    for utterance, speaker in zip(
        transcript.utterances, ["議長", "話者2", "議長", "R&D<課>"], strict=True
    ):
        utterance.speaker = speaker
    transcript.speakers = [
        Speaker("話者1", "議長", 13.4, voice="議長", similarity=0.93),
        Speaker("話者2", "話者2", 7.5, voice="議長", similarity=0.41),
        Speaker("話者3", "R&D<課>", 13.0),
    ]
    return transcript


def test_docx_shows_the_speaker_in_bold_before_the_text(spoken: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(spoken, tmp_path, ["docx"])
    document = open_docx(path)
    body = [p for p in document.paragraphs if p.text.startswith("[")]
    assert [p.text for p in body] == [
        "[00:00:05] 議長：それでは定例会議を始めます。",
        "[00:00:12] 話者2：予算の執行状況について報告します。",
        f"[00:00:31] 議長：【要確認: {REASON}】"
        "よろしくお願いします。よろしくお願いします。よろしくお願いします。",
        "[00:01:15] R&D<課>：次回は*6月*に開催します。",
    ]
    runs = [r for r in body[1].runs if r.text]
    assert [(r.text, bool(r.bold)) for r in runs] == [
        ("[00:00:12] ", False),
        ("話者2：", True),
        ("予算の執行状況について報告します。", False),
    ]
    assert "話者：3人（議長、話者2、R&D<課>）・自動判別" in texts(document)


def test_text_formats_show_the_speaker(spoken: Transcript, tmp_path: Path) -> None:
    write_outputs(spoken, tmp_path, ["md", "txt", "srt", "vtt"])
    txt = (tmp_path / "teirei_0501.txt").read_text(encoding="utf-8").splitlines()
    assert txt[:2] == [
        "議長：それでは定例会議を始めます。",
        "話者2：予算の執行状況について報告します。",
    ]
    md = (tmp_path / "teirei_0501.md").read_text(encoding="utf-8")
    assert "[00:00:12] **話者2：** 予算の執行状況について報告します。" in md
    assert "**R&D&lt;課&gt;：**" in md  # Markdown-escaped like any other text
    assert "- 話者: 3人（議長、話者2、R&D&lt;課&gt;）・自動判別" in md
    srt = (tmp_path / "teirei_0501.srt").read_text(encoding="utf-8")
    assert "00:00:12,500 --> 00:00:20,000\n<v 話者2>予算の執行状況について報告します。\n" in srt
    vtt = (tmp_path / "teirei_0501.vtt").read_text(encoding="utf-8")
    assert "00:00:05.000 --> 00:00:09.250\n<v 議長>それでは定例会議を始めます。\n" in vtt
    assert "<v R&amp;D&lt;課&gt;>次回は*6月*に開催します。" in vtt  # the name cannot end the tag


def test_json_carries_the_speaker_of_every_segment(spoken: Transcript, tmp_path: Path) -> None:
    [path] = write_outputs(spoken, tmp_path, ["json"])
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [s["speaker"] for s in data["segments"]] == ["議長", "話者2", "議長", "R&D<課>"]
    assert data["metadata"]["speakers"][:2] == [
        {"label": "話者1", "name": "議長", "seconds": 13.4, "voice": "議長", "similarity": 0.93},
        {"label": "話者2", "name": "話者2", "seconds": 7.5, "voice": "議長", "similarity": 0.41},
    ]


def test_a_failed_speaker_step_is_said_in_the_closing_block(
    full: Transcript, tmp_path: Path
) -> None:
    full.speaker_problem = "話者を区別できませんでした: 処理が異常終了しました（シグナル 9）"
    write_outputs(full, tmp_path, ["docx", "json"])
    closing = texts(open_docx(tmp_path / "teirei_0501.docx"))
    assert f"話者：{full.speaker_problem}" in closing
    data = json.loads((tmp_path / "teirei_0501.json").read_text(encoding="utf-8"))
    assert data["metadata"]["speaker_problem"] == full.speaker_problem


# --------------------------------------------------------------------------
# Names and formats


def test_every_format_with_a_stem(full: Transcript, tmp_path: Path) -> None:
    paths = write_outputs(full, tmp_path / "new", ["json", "TXT", ".md", "txt"], stem="gijiroku")
    assert [p.name for p in paths] == ["gijiroku.json", "gijiroku.txt", "gijiroku.md"]
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == sorted(p.name for p in paths)


def test_unknown_format(full: Transcript, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pdf"):
        write_outputs(full, tmp_path, ["md", "pdf"])
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------
# All or nothing


def break_json(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """Replace the JSON writer by one that writes half a file, then fails."""

    def prepare(transcript: Transcript, template_dir: Path | None) -> Writer:
        def write(path: Path) -> None:
            path.write_text('{"metadata": ', encoding="utf-8")
            raise error

        return write

    monkeypatch.setitem(minutes._PREPARERS, "json", prepare)


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (OSError(28, "No space left on device"), OutputFileError),
        (KeyboardInterrupt(), KeyboardInterrupt),
    ],
)
def test_a_failing_writer_leaves_nothing(
    full: Transcript,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    raised: type[BaseException],
) -> None:
    break_json(monkeypatch, error)
    with pytest.raises(raised):
        write_outputs(full, tmp_path, ["docx", "md", "txt", "json", "srt"])
    assert list(tmp_path.iterdir()) == []


def test_a_failing_writer_keeps_the_last_good_files(
    full: Transcript, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_outputs(full, tmp_path, ["txt", "json"])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    full.utterances[0].text = "変更後の文"
    break_json(monkeypatch, OSError(28, "No space left on device"))
    with pytest.raises(OutputFileError, match="No space left on device"):
        write_outputs(full, tmp_path, ["txt", "json"])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_failing_rename_removes_the_files_already_placed(
    full: Transcript, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    real_replace = os.replace

    def replace(source: Any, target: Any) -> None:
        if str(target).endswith(".srt"):
            raise PermissionError(13, "used by another process", str(target))
        real_replace(source, target)

    monkeypatch.setattr("pilots.files.os.replace", replace)
    with pytest.raises(OutputFileError) as info:
        write_outputs(full, tmp_path, ["md", "txt", "srt", "vtt"])
    # the clerk is told which file and what to do
    assert str(info.value).startswith(str(tmp_path / "teirei_0501.srt"))
    assert "Word などで開いていれば閉じてください" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("old", encoding="utf-8")

    def fail(path: Path) -> None:
        assert path.parent == tmp_path and path.name.startswith(".report.txt.tmp-")
        path.write_text("half", encoding="utf-8")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, fail)
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]
    assert target.read_text(encoding="utf-8") == "old"

    atomic_write(target, lambda path: path.write_text("new", encoding="utf-8"))
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]
    assert target.read_text(encoding="utf-8") == "new"


def test_docx_underlines_the_words_the_model_was_unsure_of(tmp_path: Path) -> None:
    from docx.enum.text import WD_UNDERLINE

    transcript = make_transcript()
    transcript.utterances[1] = Utterance(
        12.5, 20.0, "LG1の更新について報告します。", "LG1の更新について報告します",
        words=[Word(12.5, 13.0, "LG", 0.3), Word(13.0, 13.2, "1", 0.1),
               Word(13.2, 14.0, "の更新について", 0.9), Word(14.0, 15.0, "報告します", 0.95)],
        speaker="議長",
    )  # fmt: skip
    (marked,) = write_outputs(transcript, tmp_path / "a", ["docx"], unsure_below=0.5)
    (plain,) = write_outputs(transcript, tmp_path / "b", ["docx"])
    lines = [p for p in open_docx(marked).paragraphs if "LG1" in p.text]
    assert [p.text for p in lines] == ["[00:00:12] 議長：LG1の更新について報告します。"]
    wavy = [r.text for r in lines[0].runs if r.font.underline == WD_UNDERLINE.WAVY]
    assert wavy == ["LG", "1"]
    assert all(
        r.font.underline is None for p in open_docx(plain).paragraphs for r in p.runs
    )  # the setting off: no marks
