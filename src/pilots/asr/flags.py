"""Review flags (要確認): utterances suspected of hallucination or looping.

Whisper invents text where the audio gives it little to go on — stock
phrases learned from video subtitles (ご視聴ありがとうございました), loops of one
phrase, or text over silence. These checks mark such utterances so that the
clerk reads them against the recording first. Nothing is deleted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pilots.asr.result import Flag, Utterance

# Whisper's own fallback thresholds (openai/whisper, faster-whisper defaults):
# a window decoded with a worse average log-probability or a higher gzip
# compression ratio than these is considered failed.
LOW_LOGPROB = -1.0
HIGH_COMPRESSION = 2.4
# RMS below this (about -48 dBFS) is silence for a table recorder's signal.
SILENCE_RMS = 0.004
# Whisper's no-speech probability above which a window is considered silent.
NO_SPEECH = 0.6

# Phrases Whisper learned from video subtitles and produces over silence or noise
# (collected from faster-whisper and whisper issue reports). Compared after
# removing spaces and punctuation.
STOCK_PHRASES: tuple[str, ...] = (
    "ご視聴ありがとうございました",
    "ご視聴ありがとうございます",
    "ご視聴いただきありがとうございました",
    "ご視聴頂きありがとうございました",
    "最後までご視聴",
    "ご覧いただきありがとうございました",
    "見てくれてありがとう",
    "字幕視聴ありがとうございました",
    "チャンネル登録",
    "高評価",
    "グッドボタン",
    "いいねボタン",
    "次の動画でお会いしましょう",
    "次回の動画でお会いしましょう",
    "次の動画もお楽しみに",
    "今日の動画はここまで",
    "字幕作成",
    "字幕提供",
    "この動画の字幕",
    "字幕は自動生成されています",
    "字幕はAI生成されています",
    "Amara.org",
    "以下は日本語のビデオ",
    "日本語のビデオの字幕",
    "Thankyouforwatching",
    "Thanksforwatching",
    "Pleasesubscribe",
)
_PUNCT = re.compile(r"[\s、。，．,.!?！？・「」『』…]+")
# A stretch of 2–15 characters repeated at least 4 times in a row.
_LOOP = re.compile(r"(.{2,15}?)\1{3,}")


def _key(text: str) -> str:
    return _PUNCT.sub("", text)


def check_utterance(
    utterance: Utterance, previous: Sequence[Utterance], rms: float | None
) -> list[Flag]:
    """The flags one utterance deserves.

    Args:
        utterance: the utterance, with its model statistics.
        previous: the utterances before it (only the last two are looked at).
        rms: root-mean-square level of the audio under the utterance, if known.
    """
    flags: list[Flag] = []
    key = _key(utterance.raw_text)
    if not key:
        return flags
    if _LOOP.search(key) or (
        len(previous) >= 2 and all(_key(p.raw_text) == key for p in previous[-2:])
    ):
        flags.append(Flag("repeat", "同じ語句の繰り返し（ループ）の疑い"))
    phrase = next((p for p in STOCK_PHRASES if p in key), None)
    if phrase is not None:
        flags.append(Flag("stock_phrase", f"録音にない定型句（{phrase}）の疑い"))
    if (rms is not None and rms < SILENCE_RMS) or (
        utterance.no_speech_prob > NO_SPEECH and utterance.avg_logprob < LOW_LOGPROB
    ):
        flags.append(Flag("silence", "無音・雑音の区間に文字が出ています"))
    elif utterance.avg_logprob < LOW_LOGPROB:
        flags.append(Flag("low_logprob", "認識の確からしさが低い箇所"))
    if utterance.compression_ratio > HIGH_COMPRESSION:
        flags.append(Flag("compression", "文字の繰り返しが多すぎる（圧縮率が高い）"))
    return flags
