"""``pilots asr``: transcribe recordings into minutes drafts, and list the speech models."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from pilots.asr.measure_cli import MEASURE_COMMANDS
from pilots.asr.minutes import FORMATS
from pilots.asr.result import format_duration
from pilots.clikit import DATE, App, folder_option, json_option, pass_app
from pilots.errors import ConfigError, PilotsError

if TYPE_CHECKING:
    from pilots.asr.draft import Draft
    from pilots.asr.improve import LearnedRule


@click.group("asr", commands=MEASURE_COMMANDS)
def asr_group() -> None:
    """音声認識: 会議の録音から議事録案を作ります。"""


class ProgressBar:
    """A one-line progress bar on stderr: audio time done / total, and the time left."""

    def __init__(self, label: str, stream: TextIO, *, enabled: bool) -> None:
        self.label = label
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()
        self._last = 0.0
        self._drawn = False
        self._lock = threading.Lock()

    def __call__(self, done: float, total: float | None) -> None:
        now = time.monotonic()
        if not self.enabled or now - self._last < 0.2:
            return
        with self._lock:
            self._last = now
            if total:
                share = min(done / total, 1.0)
                bar = "█" * int(share * 20) + "░" * (20 - int(share * 20))
                elapsed = now - self.started
                left = elapsed * (total - done) / done if done > 0 else None
                eta = f"  残り約 {format_duration(left)}" if left is not None else ""
                text = (
                    f"{self.label} [{bar}] {format_duration(done)} / {format_duration(total)}{eta}"
                )
            else:
                text = f"{self.label} {format_duration(done)}"
            self.stream.write("\r" + text + " " * 4)
            self.stream.flush()
            self._drawn = True

    def close(self) -> None:
        """End the bar's line (a later update starts a new one)."""
        with self._lock:
            if self._drawn:
                self.stream.write("\n")
                self.stream.flush()
                self._drawn = False


class BatchProgress:
    """The progress of ``asr transcribe``: one bar per recording, or one for them all.

    One recording after another, each has its bar; while several are
    transcribed at once (``--jobs``), one bar adds up the audio done of all.
    """

    def __init__(
        self, recordings: Sequence[Path], stream: TextIO, *, enabled: bool, overall: bool
    ) -> None:
        self.recordings = recordings
        self.stream = stream
        self.enabled = enabled
        self.bar: ProgressBar | None = None
        self.totals: list[float | None] = []
        self.done: list[float] = [0.0] * len(recordings)
        if overall:
            from pilots.asr.audio import probe_duration

            for path in recordings:
                try:
                    self.totals.append(probe_duration(path))
                except PilotsError:
                    self.totals.append(0.0)  # told as its error when it is transcribed
            label = recordings[0].name if len(recordings) == 1 else f"{len(recordings)}件"
            self.bar = ProgressBar(label, stream, enabled=enabled)

    def part(self, index: int) -> Callable[[float, float | None], None]:
        """The progress callback of the ``index``-th recording."""
        if not self.totals:  # one bar per recording: this one's
            self.end_line()
            self.bar = ProgressBar(self.recordings[index].name, self.stream, enabled=self.enabled)
            return self.bar
        overall = self.bar
        assert overall is not None

        def told(done: float, _total: float | None) -> None:
            self.done[index] = done
            known = None if None in self.totals else sum(t or 0.0 for t in self.totals)
            overall(sum(self.done), known)

        return told

    def end_line(self) -> None:
        """End the bar's line before a recording's result is printed."""
        if self.bar is not None:
            self.bar.close()


@asr_group.command("transcribe")
@click.argument("audio", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@folder_option(
    "-o", "--output-dir", "out_dir", default=Path("."), help="議事録案を書き出すフォルダ。"
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(FORMATS),
    help="出力形式（複数指定可、既定 docx）。txt は本文だけ、json は単語の時刻付き。",
)
@click.option(
    "--model",
    default="base",
    show_default=True,
    help="モデル名（base または PILOTS_MODEL_DIR 内のフォルダ名）かモデルのフォルダ。",
)
@click.option(
    "--glossary",
    type=click.Path(dir_okay=False, path_type=Path),
    help="用語集（1行に「表記<TAB>よみ」、# はコメント）。認識後の表記補正に使います。",
)
@click.option(
    "--materials",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="会議資料（docx, xlsx, pdf, txt。複数指定可）。用語をこの議事録案の用語集に加えます。",
)
@click.option(
    "--fillers",
    type=click.Choice(["remove", "keep"]),
    default="remove",
    show_default=True,
    help="「えー」「あのー」などのフィラーを削除するか、そのまま残すか。",
)
@click.option("--dept", default="", help="所属名（ジョブの記録と議事録の見出しに使います）。")
@click.option("--title", default="", help="会議名。")
@click.option(
    "--date",
    "meeting_date",
    type=DATE,
    help="会議の日付（2019-05-01、令和元年5月1日、R1.5.1 など）。",
)
@click.option("--place", default="", help="場所。")
@click.option("--attendees", default="", help="出席者。")
@click.option("--language", default="ja", show_default=True, help="言語コード。")
@click.option(
    "--device",
    type=click.Choice(["cpu", "cuda", "auto"]),
    default="cpu",
    show_default=True,
    help="計算に使う装置。",
)
@click.option(
    "--threads",
    type=click.IntRange(min=0),
    default=None,
    help="CPUスレッド数（--jobs が2以上なら1プロセスあたり。0 は自動、"
    "既定は PILOTS_ASR_THREADS）。",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=None,
    help="同時に動かす音声認識のプロセス数（長い録音は10分ごとに分担、複数の録音は同時に処理。"
    "0 はCPUコア数と空きメモリから自動、既定は PILOTS_ASR_JOBS）。",
)
@click.option(
    "--speakers",
    default="auto",
    show_default=True,
    help="話者の区別: auto（追加部品 pilots[speakers] があれば話者1、話者2 … を付けます）、"
    "off（付けません）、または人数（例 3）。",
)
@click.option(
    "--speaker-names",
    default="",
    help='話者1、話者2 … に発言順に付ける名前（例 "議長,山田,佐藤"、空欄はそのまま）。',
)
@click.option(
    "--speaker-voices",
    type=click.Path(file_okay=False, path_type=Path),
    help="名前を付けた声の見本（議長.wav、山田委員.m4a …）のフォルダ。声が一致した話者を"
    "その名前にします（既定は PILOTS_ASR_SPEAKER_VOICES）。",
)
@click.option("--no-log", is_flag=True, help="ジョブとして記録しません（効果測定の対象外）。")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="進捗を標準エラーに表示します（既定: 端末のときだけ）。",
)
@pass_app
@click.pass_context
def transcribe_command(
    ctx: click.Context,
    app: App,
    audio: tuple[Path, ...],
    out_dir: Path,
    formats: tuple[str, ...],
    model: str,
    glossary: Path | None,
    materials: tuple[Path, ...],
    fillers: str,
    dept: str,
    title: str,
    meeting_date: date | None,
    place: str,
    attendees: str,
    language: str,
    device: str,
    threads: int | None,
    jobs: int | None,
    speakers: str,
    speaker_names: str,
    speaker_voices: Path | None,
    no_log: bool,
    progress: bool | None,
) -> None:
    """録音ファイル（wav, flac, mp3, m4a, ogg, mp4 …）から議事録案を作ります。

    録音ごと・形式ごとに OUTPUT_DIR/<録音のファイル名>.<拡張子> を書き出し、
    ジョブとして記録します（--no-log で記録しません）。
    CPUの全コアを使うよう、長い録音の区間や複数の録音を複数のプロセスで同時に
    文字起こしします（--jobs）。結果は指定した順に表示します。
    失敗したファイルがあっても残りは処理し、終了コードは 1 になります。
    発言には話者（話者1、話者2 …、または --speaker-names / --speaker-voices の名前）が
    付き、話者が替わるところで分かれます（追加部品 pilots[speakers] が必要です）。
    """
    from contextlib import ExitStack, closing

    from pilots.asr.draft import DraftOptions, DraftPipeline, JobLog, docx_marks, speech_model
    from pilots.asr.improve import improve_options
    from pilots.asr.result import MeetingInfo
    from pilots.asr.speakers import check_speakers, parse_speaker_names
    from pilots.files import check_folder

    check_folder(out_dir)  # before minutes of transcription, not after
    stems: dict[str, Path] = {}
    for path in audio:
        if path.stem in stems:
            raise ConfigError(
                "AUDIO", f"{stems[path.stem]} と {path} は出力ファイル名（{path.stem}.*）が同じです"
            )
        stems[path.stem] = path
    meeting = MeetingInfo(
        title=title,
        date=meeting_date,
        place=place,
        attendees=attendees,
        department=dept,
    )
    options = DraftOptions(
        formats=formats or ("docx",),
        language=language,
        fillers=fillers,
        fillers_file=app.settings.optional_path("fillers_file"),
        glossary=glossary,
        template_dir=app.settings.optional_path("template_dir"),
        unsure_below=docx_marks(app.settings),
        speakers=check_speakers(speakers),
        speaker_names=parse_speaker_names(speaker_names),
        speaker_voices=speaker_voices or app.settings.optional_path("asr.speaker_voices"),
        speaker_threshold=app.settings.get("asr.speaker_threshold"),
        materials=materials,
        improve=improve_options(app.settings, _approved_rules(app, dept, no_log=no_log)),
    )
    log = None if no_log else JobLog(session=app.session)
    show = sys.stderr.isatty() if progress is None else progress
    failed = 0
    with ExitStack() as models:
        pipeline = DraftPipeline(
            options,
            lambda: models.enter_context(
                speech_model(
                    app.settings, model, device=device, threads=threads, jobs=jobs, recordings=audio
                )
            ),
        )
        if pipeline.speaker_notice:
            click.echo(pipeline.speaker_notice, err=True)
        bars = BatchProgress(
            audio, sys.stderr, enabled=show, overall=pipeline.transcriber.processes > 1
        )
        drafts = pipeline.draft_each(audio, out_dir, meeting, log=log, progress=bars.part)
        with closing(drafts):
            for drafted in drafts:
                bars.end_line()
                if drafted.error is not None:
                    failed += 1
                    click.echo(f"エラー: {drafted.error}", err=True)
                    continue
                assert drafted.draft is not None
                click.echo(
                    f"{drafted.audio}: {_drafted(drafted.draft)} → "
                    + ", ".join(str(p) for p in drafted.draft.files)
                )
    if failed:
        click.echo(f"{len(audio)}件中 {failed}件が失敗しました", err=True)
        ctx.exit(1)


def _drafted(draft: Draft) -> str:
    transcript, record = draft.transcript, draft.job
    text = (
        f"録音 {format_duration(transcript.duration)}、"
        f"処理 {transcript.processing_seconds:.1f}秒、"
        f"要確認 {transcript.flag_count}箇所"
    )
    if transcript.speakers:
        text += f"、話者 {len(transcript.speakers)}人"
    if transcript.speaker_problem:
        text += f"、{transcript.speaker_problem}"
    if record is not None:
        text += f"、ジョブ #{record.job_id}" + ("" if record.created else "（更新）")
        if record.department_created:
            text += f"、所属「{record.department_created}」を新規登録"
        if record.no_speech:
            text += "、音声が検出されませんでした（利用件数には数えません）"
    return text


@asr_group.command("purge")
@click.option(
    "--older-than",
    "older_than",
    type=click.FloatRange(min=0),
    help="ジョブの完了からこの日数を過ぎた録音を削除します"
    "（既定は PILOTS_RECORDING_RETENTION_DAYS、0 で完了したものすべて）。",
)
@json_option
@pass_app
def purge_command(app: App, older_than: float | None, as_json: bool) -> None:
    """議事録作成ページで受け付けた録音のうち、保存期間を過ぎたものを削除します。

    対象は <data_dir>/uploads/ の録音ファイル、待ち行列に残った録音、作業プロセスの
    作業コピーです。ジョブ・議事録案・効果測定の記録（所属、録音時間、修正時間など）は
    残ります。pilots serve も1時間ごとに同じ削除を行います。
    """
    from pilots.output import to_json
    from pilots.web.uploads import format_mb, purge_recordings

    days = app.settings.get("recording_retention_days") if older_than is None else older_than
    with app.session() as session:
        result = purge_recordings(session, app.settings.data_dir, older_than_days=days)
    if as_json:
        click.echo(to_json(result))
        return
    for r in result.recordings:
        click.echo(f"削除: ジョブ #{r.job_id} {r.original_name}（{r.department or '所属なし'}）")
    for name in result.orphans:
        click.echo(f"削除: ジョブにならなかった録音 {name}")
    click.echo(
        f"完了から{days:g}日を過ぎた録音 {len(result.recordings)}件"
        + (f"、ジョブにならなかった録音 {len(result.orphans)}件" if result.orphans else "")
        + (f"、作業コピー {result.work_folders}件" if result.work_folders else "")
        + f"を削除しました（{format_mb(result.size_bytes)} MB）。"
        "ジョブと効果測定の記録は残しています"
    )


@asr_group.command("models")
@json_option
@click.option("--verify", is_flag=True, help="base の SHA-256 を計算し直して確認します。")
@pass_app
def models_command(app: App, as_json: bool, verify: bool) -> None:
    """このPCにある音声認識モデルの一覧（名前、場所、大きさ、検証結果）。"""
    from pilots.asr.modelfiles import list_models
    from pilots.output import format_table, to_json

    infos = list_models(app.settings.model_dir, verify=verify)
    if as_json:
        click.echo(to_json(infos))
        return
    labels = {True: "OK", False: "不一致", None: "-"}
    states = {"ready": "利用可", "not assembled": "初回使用時に組み立て", "broken": "要再組み立て"}
    click.echo(
        format_table(
            ["名前", "状態", "大きさ", "検証", "場所"],
            [
                (
                    m.name,
                    states[m.state],
                    f"{m.size_bytes / 1e6:,.0f} MB",
                    labels[m.verified],
                    m.path,
                )
                for m in infos
            ],
        )
    )


def _approved_rules(app: App, dept: str, *, no_log: bool) -> list[LearnedRule]:
    """The department's approved rules (none without a department, or with ``--no-log``)."""
    from pilots.asr.rules import approved_rules

    if not dept or no_log:
        return []
    with app.session() as session:
        return approved_rules(session, dept)


@asr_group.group("rules")
def rules_group() -> None:
    """修正履歴から学習した置換ルール（所属ごと）の一覧・承認・却下。"""


@rules_group.command("list")
@click.option("--dept", default="", help="この所属のルールだけを表示します。")
@json_option
@pass_app
def rules_list_command(app: App, dept: str, as_json: bool) -> None:
    """修正完了したジョブから置換ルールを集め直し、一覧を表示します。

    同じ置換が PILOTS_ASR_RULES_MIN_JOBS 件以上のジョブで行われ、置換前の語が
    そのまま残された割合が PILOTS_ASR_RULES_MAX_UNCHANGED_SHARE 以下のものが
    「提案」になります。承認したルールは、その所属の次の議事録案から使われます。
    """
    from pilots.asr.rules import list_rules, mine_rules
    from pilots.output import format_table, to_json

    with app.session() as session:
        added = mine_rules(
            session,
            min_jobs=app.settings.get("asr.rules_min_jobs"),
            max_unchanged_share=app.settings.get("asr.rules_max_unchanged_share"),
        )
        rows = list_rules(session, dept or None)
    if as_json:
        click.echo(to_json(rows))
        return
    click.echo(
        format_table(
            ["番号", "所属", "置換前", "置換後", "ジョブ", "置換", "そのまま", "状態"],
            [
                (
                    r.id,
                    r.department,
                    r.before,
                    r.after,
                    r.jobs,
                    r.changed,
                    r.unchanged,
                    r.status_label,
                )
                for r in rows
            ],
        )
    )
    click.echo(f"ルール {len(rows)}件（新しい提案 {added}件）")


def _decide(app: App, rule_id: int, status: str, by: str) -> None:
    from datetime import datetime

    from pilots.asr.rules import STATUS_LABELS, decide_rule

    with app.session() as session:
        decide_rule(session, rule_id, status, by=by, now=datetime.now())
    click.echo(f"ルール #{rule_id} を{STATUS_LABELS[status]}しました")


@rules_group.command("approve")
@click.argument("rule_id", type=int)
@click.option("--by", default="", help="判断した人の名前（記録用）。")
@pass_app
def rules_approve_command(app: App, rule_id: int, by: str) -> None:
    """ルールを承認します（その所属の次の議事録案から使われます）。"""
    _decide(app, rule_id, "approved", by)


@rules_group.command("reject")
@click.argument("rule_id", type=int)
@click.option("--by", default="", help="判断した人の名前（記録用）。")
@pass_app
def rules_reject_command(app: App, rule_id: int, by: str) -> None:
    """ルールを却下します（使われず、提案にも戻りません）。"""
    _decide(app, rule_id, "rejected", by)
