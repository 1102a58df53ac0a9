"""Review flags: loops, stock phrases, text over silence, unsure recognition."""

from __future__ import annotations

from pilots.asr.flags import check_utterance
from pilots.asr.result import Utterance


def utt(raw: str, **stats: float) -> Utterance:
    values = {"avg_logprob": -0.3, "compression_ratio": 1.3, "no_speech_prob": 0.05} | stats
    return Utterance(0.0, 2.0, raw, raw, **values)


def kinds(
    u: Utterance, previous: list[Utterance] | None = None, rms: float | None = 0.1
) -> list[str]:
    return [f.kind for f in check_utterance(u, previous or [], rms)]


def test_ordinary_speech_is_not_flagged() -> None:
    assert kinds(utt("それでは定刻になりましたので会議を始めます")) == []
    assert kinds(utt("はい はい")) == []  # a short genuine repeat


def test_looping_phrase_is_flagged() -> None:
    assert "repeat" in kinds(utt("よろしくお願いします" * 5))
    assert "repeat" in kinds(utt("ありがとうございます"), [utt("ありがとうございます")] * 2)


def test_stock_phrase_is_flagged_with_the_phrase() -> None:
    (flag,) = check_utterance(utt("ご視聴ありがとうございました"), [], 0.1)
    assert flag.kind == "stock_phrase"
    assert "ご視聴ありがとうございました" in flag.reason
    assert "stock_phrase" in kinds(utt("チャンネル登録 よろしくお願いします"))


def test_text_over_silence_is_flagged() -> None:
    assert kinds(utt("以上です"), rms=0.001) == ["silence"]
    assert kinds(utt("以上です", no_speech_prob=0.9, avg_logprob=-1.2)) == ["silence"]


def test_unsure_and_compressed_text_is_flagged() -> None:
    assert kinds(utt("予算の件", avg_logprob=-1.4)) == ["low_logprob"]
    assert kinds(utt("予算の件", compression_ratio=2.8)) == ["compression"]
