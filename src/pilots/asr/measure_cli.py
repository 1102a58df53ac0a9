"""``pilots asr baseline|correction|jobs|import|summary``: measuring the time saved (SPEC §3).

The commands of :data:`MEASURE_COMMANDS` join the ``pilots asr`` group in :mod:`pilots.asr.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from pilots.clikit import App, echo_import, json_option, pass_app, period_options

if TYPE_CHECKING:
    from pilots.asr.accuracy import PooledAccuracy
    from pilots.asr.jobs import JobFigures
    from pilots.asr.measure import AsrSummary
    from pilots.asr.metrics import Accuracy
    from pilots.calendar import Period

RATE_SOURCES = {"own": "所属", "default": "既定"}


def _hours(value: float | None, decimals: int = 1) -> str:
    from pilots.output import format_figure

    return "" if value is None else format_figure(value, decimals)


def _minutes(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


@click.command("baseline")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@pass_app
def baseline_command(app: App, file: str, as_json: bool) -> None:
    """所属ごとの従来作業時間（録音1時間あたりの議事録作成時間）を取り込みます。

    CSV（UTF-8、BOM付きUTF-8、Shift_JIS）または xlsx。列: department / 所属、
    baseline_hours_per_audio_hour / 従来作業時間(時間/録音1時間)。
    率のない所属は既定値（PILOTS_DEFAULT_BASELINE_RATE）を使います。
    1行でも誤りがあればファイル全体を取り込みません。
    """
    from pilots.asr.baselines import import_baselines
    from pilots.output import to_json

    with app.session() as session:
        result = import_baselines(session, file)
    if as_json:
        click.echo(to_json(result))
        return
    echo_import(file, result, "所属")


@click.command("correction")
@click.argument("job_id", type=int)
@click.argument("minutes", type=float)
@click.option(
    "--corrected",
    "corrected",
    type=click.Path(dir_okay=False, path_type=Path),
    help="修正後の議事録（.docx / .md / .txt）。議事録案と比べて認識精度を記録します。",
)
@json_option
@pass_app
def correction_command(
    app: App, job_id: int, minutes: float, corrected: Path | None, as_json: bool
) -> None:
    """議事録案の修正にかかった時間（分、自己申告）をジョブに記録します。

    JOB_ID は pilots asr jobs に表示される番号です。もう一度記録すると置き換えます。
    数値でない値、負の値、録音の長さの PILOTS_ASR_MAX_CORRECTION_RATIO 倍（既定 10倍）を
    超える値は記録しません。

    --corrected に Word などで修正した議事録を渡すと、その本文（議事録案の各発言の
    先頭にある [00:00:00] の時刻の段落から最後の時刻の段落まで。時刻と【要確認】の
    注記は除く）を議事録案と比べ、文字誤り率と認識精度を記録します。
    """
    from pilots.asr.corrected import read_corrected
    from pilots.asr.corrections import SELF_REPORTED, finish_correction
    from pilots.output import to_json

    body = read_corrected(corrected) if corrected is not None else None
    with app.session() as session:
        result = finish_correction(
            session,
            job_id,
            corrected_text=body.text if body is not None else None,
            minutes=minutes,
            source=SELF_REPORTED,
            default_rate=app.settings.get("default_baseline_rate"),
            max_ratio=app.settings.get("asr.max_correction_ratio"),
            corrected_file=body.name if body is not None else "",
        )
    if as_json:
        click.echo(to_json(result))
        return
    job = result.job
    before = (
        "" if result.previous_minutes is None else f"（前回 {_minutes(result.previous_minutes)}分）"
    )
    click.echo(
        f"ジョブ #{job.job_id}: 修正時間 {_minutes(job.correction_minutes)}分（自己申告）{before}、"
        f"削減時間 {_hours(job.hours_saved, 2)}時間 = 録音 {job.audio_hours:.2f}時間 × "
        f"{job.baseline_rate:g}（{RATE_SOURCES[job.rate_source]}） − 修正 "
        f"{(job.correction_minutes or 0) / 60:.2f}時間"
    )
    if result.accuracy_note:
        click.echo(f"認識精度: {result.accuracy_note}")
    elif job.accuracy is not None:
        compared = (
            f"{body.name} の本文 {body.paragraphs}段落と議事録案を比べました"
            if body is not None and result.compared
            else "前回、修正後の議事録と比べた値です"
        )
        click.echo(f"{_accuracy_line(job.accuracy)}（{compared}）")


def _accuracy_line(a: Accuracy | PooledAccuracy) -> str:
    """認識精度 97.0%（文字誤り率 3.0% = 編集 6文字 ÷ 修正後 200文字[、ジョブ 5件]。置換 3 …）.

    A job's accuracy, or a period's pooled one (which names the jobs it rests on).
    """
    from pilots.asr.accuracy import PooledAccuracy

    jobs = f"、ジョブ {a.jobs}件" if isinstance(a, PooledAccuracy) else ""
    if isinstance(a, PooledAccuracy) and not a.jobs:
        return "認識精度: 測定なし（修正後の文章と議事録案を比べたジョブがありません）"
    edits = (
        f"編集 {a.edits:,}文字 ÷ 修正後 {a.characters:,}文字{jobs}。"
        f"置換 {a.substitutions:,}、挿入 {a.insertions:,}、脱落 {a.deletions:,}"
    )
    if a.cer is None:
        return f"認識精度: 修正後の文章が空のため率は出せません（{edits}）"
    return f"認識精度 {1 - a.cer:.1%}（文字誤り率 {a.cer:.1%} = {edits}）"


@click.command("jobs")
@click.option("--fy", "fiscal_year", type=int, help="年度（2019 = 令和元年度）で絞り込みます。")
@click.option("--dept", "department", help="所属名で絞り込みます。")
@json_option
@pass_app
def jobs_command(app: App, fiscal_year: int | None, department: str | None, as_json: bool) -> None:
    """ジョブの一覧（会議日、所属、録音時間、修正時間、削減時間）を表示します。

    「受付」は議事録作成ページ（pilots serve）の受付番号、「備考」の「音声なし」は
    話し声が検出されず利用に数えないジョブです。
    """
    from pilots.asr.jobs import list_jobs
    from pilots.org import UNKNOWN_DEPARTMENT
    from pilots.output import format_table, to_json

    with app.session() as session:
        jobs = list_jobs(
            session,
            default_rate=app.settings.get("default_baseline_rate"),
            fiscal_year=fiscal_year,
            department=department,
        )
    if as_json:
        click.echo(to_json(jobs))
        return
    if not jobs:
        click.echo("該当するジョブはありません")
        return
    click.echo(
        format_table(
            [
                "ID",
                "会議日",
                "所属",
                "会議名",
                "登録元",
                "録音(分)",
                "修正(分)",
                "率",
                "削減(時間)",
                "受付",
                "備考",
            ],
            [
                (
                    j.job_id,
                    j.meeting_date.isoformat(),
                    j.department or UNKNOWN_DEPARTMENT,
                    j.title,
                    j.source,
                    _minutes(j.audio_minutes),
                    "未報告" if j.correction_minutes is None else _minutes(j.correction_minutes),
                    f"{j.baseline_rate:g}" + ("" if j.rate_source == "own" else "（既定）"),
                    _hours(j.hours_saved),
                    ",".join(f"#{n}" for n in j.web_jobs),
                    "音声なし" if j.no_speech else "",
                )
                for j in jobs
            ],
        )
    )
    _print_job_totals(jobs)


def _print_job_totals(jobs: list[JobFigures]) -> None:
    silent = sum(1 for j in jobs if j.no_speech)
    counted = [j for j in jobs if not j.no_speech]
    measured = [j for j in counted if j.measured]
    saved = sum(j.hours_saved or 0 for j in measured)
    click.echo(
        f"{len(counted)}件（修正時間の報告あり {len(measured)}件、"
        f"未報告 {len(counted) - len(measured)}件）、"
        f"削減時間 {_hours(saved)}時間（報告ありのジョブのみ）"
        + (f"。音声なしの{silent}件は数えていません" if silent else "")
    )


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@pass_app
def import_command(app: App, file: str, as_json: bool) -> None:
    """所属から報告された利用実績（他のサービスで作った議事録）を取り込みます。

    CSV（UTF-8、BOM付きUTF-8、Shift_JIS）または xlsx。列: department / 所属、
    meeting_date / 会議日、audio_minutes / 録音時間(分)、correction_minutes / 修正時間(分)
    （空欄は未報告）。読めない行や、修正時間が負または録音の長さの
    PILOTS_ASR_MAX_CORRECTION_RATIO 倍を超える行は、行番号と理由を示して除き、残りを取り込みます。
    同じファイルをもう一度取り込んでも増えません（修正時間が記入された行は更新します）。
    """
    from pilots.asr.usage import import_usage
    from pilots.output import format_table, to_json

    with app.session() as session:
        result = import_usage(
            session, file, max_correction_ratio=app.settings.get("asr.max_correction_ratio")
        )
    if as_json:
        click.echo(to_json(result))
        return
    echo_import(file, result, "行", f"除外 {len(result.rejected)}")
    if result.rejected:
        click.echo("取り込まなかった行:")
        click.echo(format_table(["行", "理由"], [(r.line, r.reason) for r in result.rejected]))


@click.command("summary")
@period_options
@json_option
@pass_app
def summary_command(app: App, period: Period, as_json: bool) -> None:
    """期間の利用所属数、削減時間、月平均削減時間を集計します（SPEC §3）。

    修正時間の報告がないジョブは利用として数え、削減時間には含めず一覧に示します。
    """
    from pilots.asr.measure import summarize
    from pilots.output import to_json

    with app.session() as session:
        summary = summarize(session, period, default_rate=app.settings.get("default_baseline_rate"))
    if as_json:
        click.echo(to_json(summary))
        return
    _print_summary(summary)


def _print_summary(s: AsrSummary) -> None:
    from pilots.output import format_table

    click.echo(
        f"{s.period_label}  会議日 {s.start.isoformat()}〜{s.as_of.isoformat()}（{s.months}か月）"
    )
    click.echo(f"利用所属数: {s.departments_using}所属")
    click.echo(
        f"ジョブ: {s.jobs}件（修正時間の報告あり {s.measured_jobs}件、未報告 {s.unmeasured_jobs}件"
        + (f"、所属不明 {s.jobs_without_department}件" if s.jobs_without_department else "")
        + "）"
        + (f"、除外 {s.excluded_jobs}件（音声なし）" if s.excluded_jobs else "")
    )
    c = s.correction
    click.echo(
        f"修正時間の出どころ: 計測（修正エディタ） {c.measured_jobs}件、"
        f"自己申告 {c.self_reported_jobs}件"
    )
    click.echo(f"録音時間: {_hours(s.audio_hours)}時間")
    click.echo(
        f"削減時間: {_hours(s.hours_saved)}時間 = 従来作業 {_hours(s.baseline_hours)}時間 − "
        f"修正 {_hours(s.correction_hours)}時間（報告ありの{s.measured_jobs}件）"
    )
    if c.both:
        for f in c.by_source:
            click.echo(
                f"  うち{f.label}の{f.jobs}件: 削減 {_hours(f.hours_saved)}時間"
                f"（録音1時間あたり 修正 {_hours(f.correction_hours_per_audio_hour, 2)}時間、"
                f"削減 {_hours(f.hours_saved_per_audio_hour, 2)}時間）"
            )
    click.echo(
        f"月平均削減時間: {_hours(s.avg_hours_saved_per_month)}時間 = "
        f"{_hours(s.hours_saved)}時間 ÷ {s.months}か月"
    )
    click.echo(_accuracy_line(s.accuracy))
    if s.departments_on_default_rate:
        click.echo(
            f"既定の従来作業時間率 {s.default_baseline_rate:g} を使った所属: "
            + "、".join(s.departments_on_default_rate)
        )
    if s.by_department:
        click.echo("\n所属別:")
        click.echo(
            format_table(
                ["所属", "ジョブ", "報告あり", "録音(時間)", "率", "削減(時間)"],
                [
                    (
                        d.department,
                        d.jobs,
                        d.measured_jobs,
                        _hours(d.audio_hours),
                        f"{d.baseline_rate:g}" + ("" if d.rate_source == "own" else "（既定）"),
                        _hours(d.hours_saved),
                    )
                    for d in s.by_department
                ],
            )
        )
    click.echo("\n月別（会議日）:")
    click.echo(
        format_table(
            ["月", "ジョブ", "報告あり", "利用所属", "録音(時間)", "削減(時間)"],
            [
                (
                    m.label,
                    m.jobs,
                    m.measured_jobs,
                    m.departments_using,
                    _hours(m.audio_hours),
                    _hours(m.hours_saved),
                )
                for m in s.by_month
            ],
        )
    )
    if s.unmeasured:
        click.echo("\n修正時間が未報告のジョブ（削減時間に含めていません）:")
        click.echo(
            format_table(
                ["ID", "会議日", "所属", "登録元", "録音(分)"],
                [
                    (
                        u.job_id,
                        u.meeting_date.isoformat(),
                        u.department,
                        u.source,
                        _minutes(u.audio_minutes),
                    )
                    for u in s.unmeasured
                ],
            )
        )
    if s.excluded:
        click.echo("\n集計から除いたジョブ（利用に数えていません）:")
        click.echo(
            format_table(
                ["ID", "会議日", "所属", "録音(分)", "理由"],
                [
                    (
                        x.job_id,
                        x.meeting_date.isoformat(),
                        x.department,
                        _minutes(x.audio_minutes),
                        x.reason,
                    )
                    for x in s.excluded
                ],
            )
        )
    if s.rejected_rows:
        click.echo("\n取り込まなかった利用実績の行（pilots asr import）:")
        click.echo(
            format_table(
                ["ファイル", "行", "理由"], [(r.file, r.line, r.reason) for r in s.rejected_rows]
            )
        )


@click.command("accuracy")
@period_options
@click.option(
    "--by",
    type=click.Choice(("department", "model")),
    help="所属別（department）または音声認識モデル別（model）にも集計します。",
)
@json_option
@pass_app
def accuracy_command(app: App, period: Period, by: str | None, as_json: bool) -> None:
    """議事録案の認識精度（1 − 文字誤り率）を期間で集計します（SPEC §3）。

    修正が完了し、修正後の文章（修正エディタ、または pilots asr correction
    --corrected）と議事録案を比べたジョブの、編集の合計 ÷ 修正後の文字数の合計です。
    測っていないジョブは理由ごとの件数を示し、修正未完了と未比較のジョブは一覧にします
    （利用報告から取り込んだジョブは件数のみ。--json ではすべて）。
    """
    from pilots.asr.accuracy import REASONS, summarize_accuracy
    from pilots.output import format_table, to_json

    with app.session() as session:
        summary = summarize_accuracy(session, period, by=by)
    if as_json:
        click.echo(to_json(summary))
        return
    a = summary.overall
    click.echo(
        f"{summary.period_label}  会議日 {summary.start.isoformat()}〜{summary.as_of.isoformat()}"
    )
    click.echo(_accuracy_line(a))
    if summary.groups:
        click.echo("\n" + {"department": "所属別:", "model": "モデル別:"}[summary.by or ""])
        click.echo(
            format_table(
                [
                    "所属" if summary.by == "department" else "モデル",
                    "ジョブ",
                    "修正後(文字)",
                    "編集(文字)",
                    "文字誤り率",
                    "認識精度",
                ],
                [
                    (
                        g.name,
                        g.jobs,
                        f"{g.characters:,}",
                        f"{g.edits:,}",
                        "" if g.cer is None else f"{g.cer:.1%}",
                        "" if g.recognition_accuracy is None else f"{g.recognition_accuracy:.1%}",
                    )
                    for g in summary.groups
                ],
            )
        )
    if summary.without:
        counts = "、".join(
            f"{REASONS[key]} {count}件" for key, count in summary.without_by_reason.items() if count
        )
        click.echo(f"\n認識精度を測っていないジョブ {len(summary.without)}件: {counts}")
        listed = [w for w in summary.without if w.reason != "import"]
        if listed:
            click.echo(
                format_table(
                    ["ID", "会議日", "所属", "理由"],
                    [(w.job_id, w.meeting_date.isoformat(), w.department, w.label) for w in listed],
                )
            )
    click.echo(f"\n規則: {summary.rule}")


MEASURE_COMMANDS = (
    baseline_command,
    correction_command,
    jobs_command,
    import_command,
    summary_command,
    accuracy_command,
)
