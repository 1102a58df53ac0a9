"""``pilots asr baseline|correction|jobs|import|summary``: measuring the time saved (SPEC §3).

The commands of :data:`MEASURE_COMMANDS` join the ``pilots asr`` group in :mod:`pilots.asr.cli`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pilots.clikit import App, echo_import, json_option, pass_app, period_options

if TYPE_CHECKING:
    from pilots.asr.jobs import JobFigures
    from pilots.asr.measure import AsrSummary
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
@json_option
@pass_app
def correction_command(app: App, job_id: int, minutes: float, as_json: bool) -> None:
    """議事録案の修正にかかった時間（分）をジョブに記録します。

    JOB_ID は pilots asr jobs に表示される番号です。もう一度記録すると置き換えます。
    負の値や、録音の長さの PILOTS_ASR_MAX_CORRECTION_RATIO 倍（既定 10倍）を超える値は
    記録しません。
    """
    from pilots.asr.corrections import SELF_REPORTED, finish_correction
    from pilots.output import to_json

    with app.session() as session:
        result = finish_correction(
            session,
            job_id,
            corrected_text=None,
            minutes=minutes,
            source=SELF_REPORTED,
            default_rate=app.settings.get("default_baseline_rate"),
            max_ratio=app.settings.get("asr.max_correction_ratio"),
        )
    if as_json:
        click.echo(to_json(result))
        return
    job = result.job
    before = (
        "" if result.previous_minutes is None else f"（前回 {_minutes(result.previous_minutes)}分）"
    )
    click.echo(
        f"ジョブ #{job.job_id}: 修正時間 {_minutes(job.correction_minutes)}分{before}、"
        f"削減時間 {_hours(job.hours_saved, 2)}時間 = 録音 {job.audio_hours:.2f}時間 × "
        f"{job.baseline_rate:g}（{RATE_SOURCES[job.rate_source]}） − 修正 "
        f"{(job.correction_minutes or 0) / 60:.2f}時間"
    )


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
    click.echo(f"録音時間: {_hours(s.audio_hours)}時間")
    click.echo(
        f"削減時間: {_hours(s.hours_saved)}時間 = 従来作業 {_hours(s.baseline_hours)}時間 − "
        f"修正 {_hours(s.correction_hours)}時間（報告ありの{s.measured_jobs}件）"
    )
    click.echo(
        f"月平均削減時間: {_hours(s.avg_hours_saved_per_month)}時間 = "
        f"{_hours(s.hours_saved)}時間 ÷ {s.months}か月"
    )
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


MEASURE_COMMANDS = (
    baseline_command,
    correction_command,
    jobs_command,
    import_command,
    summary_command,
)
