"""Transcribing recordings with faster-whisper, a chunk at a time, into a Transcript.

Each chunk of a recording (:func:`pilots.asr.audio.iter_chunks`) is handed to
the model on its own — faster-whisper's ``condition_on_previous_text`` carries
the previous window's text as a prompt *within* a chunk, never from one chunk
to the next — so chunks can be transcribed in any process and in any order
(:mod:`pilots.asr.parallel`) and give the same text. What joins them, the
Japanese post-processing and the review flags, runs over the whole recording
in :meth:`Recognised.finish`.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pilots.asr.audio import SAMPLE_RATE, Chunk, iter_chunks, probe_duration
from pilots.asr.flags import check_utterance
from pilots.asr.modelfiles import resolve_model, sha256_file
from pilots.asr.postprocess import TextPipeline
from pilots.asr.result import MeetingInfo, Transcript, Utterance, Word
from pilots.errors import ConfigError

logger = logging.getLogger("pilots")

Progress = Callable[[float, float | None], None]
"""Told (seconds of audio done, total seconds or None) while a recording is transcribed."""
Heard = Callable[[float, float], None]
"""Told (the chunk's offset, seconds of the chunk done) as the model gets through a chunk."""
DEVICES = ("cpu", "cuda", "auto")
T = TypeVar("T")


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


@dataclass(frozen=True)
class ChunkText:
    """What the model heard in one chunk.

    Attributes:
        offset: where the chunk starts in the recording, in seconds.
        duration: the chunk's length in seconds.
        utterances: its segments, timed from the start of the recording, with
            the model's raw text (``text`` is filled by the post-processing).
        levels: the RMS level of each segment's audio (None for an empty one),
            for the review flags.
    """

    offset: float
    duration: float
    utterances: list[Utterance]
    levels: list[float | None]


@dataclass(frozen=True)
class Recognised:
    """A recording as the model heard it, before the Japanese post-processing.

    Attributes:
        audio: the recording.
        audio_sha256: SHA-256 of its bytes.
        duration: its length in seconds.
        language: the language code it was transcribed in.
        model: the model's name.
        seconds: the wall-clock time the model took.
        utterances: every segment, in order, with its raw text.
        levels: the RMS level of each segment's audio.
    """

    audio: Path
    audio_sha256: str
    duration: float
    language: str
    model: str
    seconds: float
    utterances: list[Utterance]
    levels: list[float | None]

    def finish(
        self,
        pipeline: TextPipeline,
        *,
        meeting: MeetingInfo | None = None,
        fillers: str = "remove",
        glossary_terms: int = 0,
    ) -> Transcript:
        """The post-processed, flagged Transcript.

        Args:
            pipeline: the Japanese text post-processing to apply.
            meeting: the header block of the minutes.
            fillers: ``remove`` or ``keep`` (recorded in the transcript).
            glossary_terms: number of glossary terms in the pipeline (recorded).
        """
        started = time.perf_counter()
        replacements = 0
        kept: list[Utterance] = []
        for i, (utt, level) in enumerate(zip(self.utterances, self.levels, strict=True)):
            following = self.utterances[i + 1].raw_text if i + 1 < len(self.utterances) else None
            utt.text, n = pipeline.process(utt.raw_text, next_raw=following)
            replacements += n
            if not utt.text.strip():
                continue  # nothing left once fillers are gone
            utt.flags = check_utterance(utt, kept, level)
            kept.append(utt)
        return Transcript(
            audio=self.audio,
            audio_sha256=self.audio_sha256,
            duration=self.duration,
            language=self.language,
            model=self.model,
            processing_seconds=self.seconds + time.perf_counter() - started,
            meeting=meeting or MeetingInfo(),
            utterances=kept,
            fillers=fillers,
            glossary_terms=glossary_terms,
            glossary_replacements=replacements,
        )


class SpeechModel(ABC):
    """A loaded speech model, in this process or in several; both give the same text.

    :class:`Transcriber` runs it here, :class:`pilots.asr.parallel.ModelPool`
    in model processes.

    Attributes:
        model_name: the model's name, recorded with each transcript.
        processes: how many chunks it transcribes at the same time.
    """

    model_name: str
    processes: int = 1

    @abstractmethod
    def transcribe_chunks(
        self, audio: Path, chunks: Iterator[Chunk], options: TranscribeOptions, heard: Heard
    ) -> Iterator[ChunkText]:
        """The text of each chunk of ``audio``, in the order of the chunks.

        Args:
            audio: the recording the chunks come from (named in errors).
            chunks: its chunks; read as the model needs them.
            options: decoding options.
            heard: told the progress within each chunk.
        """

    @abstractmethod
    def call(self, work: Callable[..., T], *args: Any) -> T:
        """``work(transcriber, *args)`` where the model is loaded, and its result.

        Here, or in one of the model processes: ``work`` is then a module-level
        function, and its arguments and result travel by pickle (a change made
        to an argument there is not seen here: return it).
        """

    def hear(
        self,
        audio: Path,
        options: TranscribeOptions | None = None,
        *,
        progress: Progress | None = None,
    ) -> Recognised:
        """The recording's segments as the model heard them.

        Raises:
            InputFileError: the file is not readable audio.
        """
        options = options or TranscribeOptions()
        started = time.perf_counter()
        total = probe_duration(audio)
        digest = sha256_file(audio)
        done: dict[float, float] = {}  # chunk offset → seconds of it done

        def heard(offset: float, seconds: float) -> None:
            done[offset] = seconds
            if progress is not None:
                progress(sum(done.values()), total)

        utterances: list[Utterance] = []
        levels: list[float | None] = []
        duration = 0.0
        chunks = iter_chunks(audio, options.chunk_seconds)
        for text in self.transcribe_chunks(audio, chunks, options, heard):
            utterances += text.utterances
            levels += text.levels
            duration = text.offset + text.duration
            heard(text.offset, text.duration)
        return Recognised(
            audio=audio,
            audio_sha256=digest,
            duration=duration,
            language=options.language,
            model=self.model_name,
            seconds=time.perf_counter() - started,
            utterances=utterances,
            levels=levels,
        )


class Transcriber(SpeechModel):
    """A speech model loaded in this process, transcribing one chunk after another.

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

    def call(self, work: Callable[..., T], *args: Any) -> T:
        """``work(self, *args)``: the model is loaded in this process."""
        return work(self, *args)

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

    def transcribe_chunk(
        self, chunk: Chunk, options: TranscribeOptions, heard: Heard | None = None
    ) -> ChunkText:
        """The text of one chunk (``heard`` is told the end of each segment as it comes)."""
        utterances: list[Utterance] = []
        levels: list[float | None] = []
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
                        Word(chunk.offset + w.start, chunk.offset + w.end, w.word, w.probability)
                        for w in (seg.words or [])
                    ],
                )
            )
            levels.append(_rms(chunk, seg.start, seg.end))
            if heard is not None:
                heard(chunk.offset, seg.end)
        return ChunkText(chunk.offset, chunk.duration, utterances, levels)

    def transcribe_chunks(
        self, audio: Path, chunks: Iterator[Chunk], options: TranscribeOptions, heard: Heard
    ) -> Iterator[ChunkText]:
        """Each chunk in turn, in this process."""
        for chunk in chunks:
            yield self.transcribe_chunk(chunk, options, heard)


def _rms(chunk: Chunk, start: float, end: float) -> float | None:
    import numpy as np

    piece = chunk.samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    if len(piece) == 0:
        return None
    return float(np.sqrt(np.mean(np.square(piece))))
