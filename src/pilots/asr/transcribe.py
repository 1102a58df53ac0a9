"""Transcribing recordings with faster-whisper, a chunk at a time, into a Transcript."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pilots.asr.audio import SAMPLE_RATE, Chunk, iter_chunks, probe_duration
from pilots.asr.flags import check_utterance
from pilots.asr.modelfiles import resolve_model, sha256_file
from pilots.asr.postprocess import TextPipeline
from pilots.asr.result import MeetingInfo, Transcript, Utterance, Word
from pilots.errors import ConfigError

logger = logging.getLogger("pilots")

Progress = Callable[[float, float | None], None]
DEVICES = ("cpu", "cuda", "auto")


@dataclass(frozen=True)
class TranscribeOptions:
    """How the model decodes.

    Attributes:
        language: language code (``ja``).
        beam_size: beam search width (5, as faster-whisper's CLI and the benchmark use).
        word_timestamps: also time each word (needed for the JSON output; costs time).
        condition_on_previous_text: feed the previous window's text as a prompt
            (faster-whisper's default). On the samples it gives the lower CER; a
            loop it starts cannot outlast one chunk, and the review flags mark it.
        chunk_seconds: longest piece of audio handed to the model at once.
    """

    language: str = "ja"
    beam_size: int = 5
    word_timestamps: bool = False
    condition_on_previous_text: bool = True
    chunk_seconds: float = 600.0


class Transcriber:
    """A loaded speech model that transcribes one recording after another.

    Args:
        model: ``base``, the name of a model folder under ``model_root``, or a folder.
        model_root: the model folder (``PILOTS_MODEL_DIR``).
        device: ``cpu``, ``cuda`` or ``auto``.
        threads: CPU threads (0: CTranslate2 decides).

    Raises:
        NotFoundError: the model is not on this machine.
        ConfigError: the device cannot be used.
    """

    def __init__(
        self, model: str, model_root: Path, *, device: str = "cpu", threads: int = 0
    ) -> None:
        if device not in DEVICES:
            raise ConfigError("--device", f"cpu, cuda, auto のいずれかを指定してください: {device}")
        self.model_name, self.model_path = resolve_model(model, model_root)
        from faster_whisper import WhisperModel

        compute_type = "int8" if device == "cpu" else "default"
        try:
            self._model = WhisperModel(
                str(self.model_path), device=device, compute_type=compute_type, cpu_threads=threads
            )
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(
                "--device", f"モデルを {device} で読み込めません（{str(exc).splitlines()[0]}）"
            ) from None

    def _segments(self, chunk: Chunk, options: TranscribeOptions) -> Iterator[Any]:
        segments, _info = self._model.transcribe(
            chunk.samples,
            language=options.language,
            beam_size=options.beam_size,
            vad_filter=True,
            word_timestamps=options.word_timestamps,
            condition_on_previous_text=options.condition_on_previous_text,
        )
        yield from segments

    def scorer(self, samples: Any, *, language: str) -> Callable[[Sequence[str]], list[float]]:
        """How likely the model finds texts for one short piece of audio (the second pass).

        Teacher forcing: the piece is encoded once, here, and each text given to
        the returned function is forced through the decoder (CTranslate2's
        ``Whisper.align``, which faster-whisper uses for its word probabilities).
        A text's score is the sum of the natural logs of its tokens'
        probabilities. CTranslate2 gives the first token no probability (0) and
        the end of text none either, so both are left out: texts compared
        should share their first token.

        Args:
            samples: the piece (16 kHz mono float32, at most 30 seconds).
            language: language code.

        Returns:
            A function from texts to their log-likelihoods, in order (higher: more likely).
        """
        import numpy as np
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        model = self._model
        features = model.feature_extractor(samples)[..., :-1]
        frames = min(features.shape[-1], model.feature_extractor.nb_max_frames)
        encoded = model.encode(pad_or_trim(features))
        tokenizer = Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language
        )

        def score(texts: Sequence[str]) -> list[float]:
            scores: list[float] = []
            for text in texts:
                tokens = tokenizer.encode(text)
                [result] = model.model.align(encoded, tokenizer.sot_sequence, [tokens], frames)
                probabilities = np.asarray(result.text_token_probs[1 : len(tokens)])
                scores.append(float(np.log(np.clip(probabilities, 1e-12, 1.0)).sum()))
            return scores

        return score

    def transcribe(
        self,
        audio: Path,
        pipeline: TextPipeline,
        *,
        options: TranscribeOptions | None = None,
        meeting: MeetingInfo | None = None,
        fillers: str = "remove",
        glossary_terms: int = 0,
        progress: Progress | None = None,
    ) -> Transcript:
        """Transcribe one recording into a post-processed, flagged Transcript.

        Args:
            audio: the recording (wav, flac, mp3, m4a, ogg, mp4 …).
            pipeline: the Japanese text post-processing to apply.
            options: decoding options.
            meeting: the header block of the minutes.
            fillers: ``remove`` or ``keep`` (recorded in the transcript).
            glossary_terms: number of glossary terms in the pipeline (recorded).
            progress: called with (seconds of audio done, total seconds or None).

        Raises:
            InputFileError: the file is not readable audio.
        """
        options = options or TranscribeOptions()
        started = time.perf_counter()
        total = probe_duration(audio)
        digest = sha256_file(audio)
        utterances: list[Utterance] = []
        levels: list[float | None] = []
        duration = 0.0
        for chunk in iter_chunks(audio, options.chunk_seconds):
            for seg in self._segments(chunk, options):
                utterances.append(
                    Utterance(
                        start=chunk.offset + seg.start,
                        end=chunk.offset + seg.end,
                        text="",
                        raw_text=seg.text,
                        avg_logprob=seg.avg_logprob,
                        compression_ratio=seg.compression_ratio,
                        no_speech_prob=seg.no_speech_prob,
                        words=[
                            Word(
                                chunk.offset + w.start, chunk.offset + w.end, w.word, w.probability
                            )
                            for w in (seg.words or [])
                        ],
                    )
                )
                levels.append(_rms(chunk, seg.start, seg.end))
                if progress is not None:
                    progress(chunk.offset + seg.end, total)
            duration = chunk.offset + chunk.duration
            if progress is not None:
                progress(duration, total)
        replacements = 0
        kept: list[Utterance] = []
        for i, (utt, level) in enumerate(zip(utterances, levels, strict=True)):
            following = utterances[i + 1].raw_text if i + 1 < len(utterances) else None
            utt.text, n = pipeline.process(utt.raw_text, next_raw=following)
            replacements += n
            if not utt.text.strip():
                continue  # nothing left once fillers are gone
            utt.flags = check_utterance(utt, kept, level)
            kept.append(utt)
        return Transcript(
            audio=audio,
            audio_sha256=digest,
            duration=duration,
            language=options.language,
            model=self.model_name,
            processing_seconds=time.perf_counter() - started,
            meeting=meeting or MeetingInfo(),
            utterances=kept,
            fillers=fillers,
            glossary_terms=glossary_terms,
            glossary_replacements=replacements,
        )


def _rms(chunk: Chunk, start: float, end: float) -> float | None:
    import numpy as np

    piece = chunk.samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    if len(piece) == 0:
        return None
    return float(np.sqrt(np.mean(np.square(piece))))
