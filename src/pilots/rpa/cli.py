"""``pilots rpa``: the task catalog, bot run logs, the hours reduced.

Operational issues join from :mod:`pilots.rpa.issues_cli`, next year's
candidates from :mod:`pilots.rpa.candidates_cli`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pilots.clikit import App, echo_import, json_option, pass_app, period_options
from pilots.rpa.candidates_cli import candidates_command
from pilots.rpa.formats import FORMAT_NAMES
from pilots.rpa.issues_cli import ISSUE_COMMANDS
from pilots.rpa.text_cli import cases_text, hours_text, percent_text, rate_option

if TYPE_CHECKING:
    from pilots.calendar import Period
    from pilots.rpa.measure import RpaSummary


@click.group("rpa", commands=(*ISSUE_COMMANDS, candidates_command))
def rpa_group() -> None:
    """RPA: 削減時間・削減率の集計、運用上の課題、来年度の候補の記録。"""


@rpa_group.command("catalog")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@pass_app
def catalog_command(app: App, file: str, as_json: bool) -> None:
    """業務台帳（CSV または xlsx）を取り込みます。

    列: 業務ID, 業務名, 所属, シナリオ名（; 区切りで複数）, 手作業時間(分/件), 件数(件/回),
    残作業時間(分/回), 例外対応時間(分/回)（英語の列名も可）。同じ業務IDは更新されます。
    負の時間やシナリオ名のない行があれば、その行を示してファイル全体を取り込みません。
    """
    from pilots.output import to_json
    from pilots.rpa.catalog import import_catalog

    with app.session() as session:
        result = import_catalog(session, file)
    if as_json:
        click.echo(to_json(result))
        return
    echo_import(file, result, "業務", f"シナリオ名 {result.scenarios}件")


@rpa_group.command("tasks")
@json_option
@pass_app
def tasks_command(app: App, as_json: bool) -> None:
    """業務台帳の一覧を表示します。"""
    from pilots.output import format_table, to_json
    from pilots.rpa.catalog import list_tasks

    with app.session() as session:
        rows = list_tasks(session)
    if as_json:
        click.echo(to_json(rows))
        return
    if not rows:
        click.echo("業務台帳はまだ登録されていません（pilots rpa catalog FILE）")
        return
    click.echo(
        format_table(
            [
                "業務ID",
                "業務名",
                "所属",
                "シナリオ名",
                "手作業(分/件)",
                "件数(件/回)",
                "残作業(分/回)",
                "例外対応(分/回)",
            ],
            [
                (
                    r.task_id,
                    r.task_name,
                    r.department,
                    "; ".join(r.scenarios),
                    f"{r.manual_minutes_per_case:g}",
                    f"{r.cases_per_run:g}",
                    f"{r.residual_minutes_per_run:g}",
                    f"{r.exception_minutes_per_failure:g}",
                )
                for r in rows
            ],
        )
    )


@rpa_group.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "format_name",
    type=click.Choice(("auto", *FORMAT_NAMES)),
    default="auto",
    show_default=True,
    help="実行ログの形式。auto は見出しから判別します。",
)
@json_option
@pass_app
def ingest_command(app: App, files: tuple[str, ...], format_name: str, as_json: bool) -> None:
    """RPAの実行ログを取り込みます（WinActor Manager、UiPath、Power Automate、汎用CSV）。

    ベンダーが出力したままのファイルを渡します（UTF-8、BOM付きUTF-8、Shift_JIS を自動判別）。
    ファイルごとに1つのトランザクションで、同じ実行を再度取り込んでも増えません。
    読めない行は理由とともに保存され（pilots rpa rejects）、残りの行は取り込まれます。
    """
    from pilots.output import to_json
    from pilots.rpa.ingest import IngestResult, ingest_file
    from pilots.rpa.logfile import check_files

    # Every file's layout is checked before anything is written.
    check_files(files, format_name)
    total = IngestResult()
    for file in files:
        with app.session() as session:
            result = ingest_file(session, file, format_name)
        total.add(result)
        if not as_json:
            click.echo(
                f"{file}（{result.format}, {result.encoding or 'xlsx'}）: {result.rows:,}行 — "
                f"追加 {result.runs_added:,}、更新 {result.runs_updated:,}、"
                f"重複 {result.duplicates:,}、読めない行 {result.rejected:,}、"
                f"業務台帳にないシナリオ {result.unmatched:,}"
            )
            for item in result.unmatched_scenarios[:10]:
                click.echo(f"  未登録シナリオ: {item.scenario}（{item.runs:,}回）")
            if len(result.unmatched_scenarios) > 10:
                click.echo(f"  …ほか {len(result.unmatched_scenarios) - 10} シナリオ")
    if as_json:
        click.echo(to_json(total))
    elif len(files) > 1:
        click.echo(
            f"合計: {total.rows:,}行 — 追加 {total.runs_added:,}、更新 {total.runs_updated:,}、"
            f"重複 {total.duplicates:,}、読めない行 {total.rejected:,}、"
            f"業務台帳にないシナリオ {total.unmatched:,}"
        )
    if total.rejected and not as_json:
        click.echo("読めない行は pilots rpa rejects で確認できます")


@rpa_group.command("rejects")
@click.option("--file", "file", help="このファイルの行だけを表示します。")
@json_option
@pass_app
def rejects_command(app: App, file: str | None, as_json: bool) -> None:
    """取り込めなかった実行ログの行を、ファイル名・行番号・理由とともに表示します。"""
    from pilots.output import format_table, to_json
    from pilots.rpa.ingest import list_rejects

    with app.session() as session:
        rows = list_rejects(session, file)
    if as_json:
        click.echo(to_json(rows))
        return
    if not rows:
        click.echo("読めなかった行はありません")
        return
    click.echo(
        format_table(
            ["ファイル", "行", "形式", "理由", "内容"],
            [(r.file, r.line, r.format, r.reason, r.raw[:60]) for r in rows],
        )
    )


@rpa_group.command("unmatched")
@json_option
@pass_app
def unmatched_command(app: App, as_json: bool) -> None:
    """業務台帳のどの業務にも当たらないシナリオ名と、その実行回数を表示します。"""
    from pilots.output import format_table, to_json
    from pilots.rpa.measure import list_unmatched

    with app.session() as session:
        rows = list_unmatched(session)
    if as_json:
        click.echo(to_json(rows))
        return
    if not rows:
        click.echo("業務台帳にないシナリオの実行はありません")
        return

    def day(value: int | None) -> str:
        if value is None:
            return ""
        return f"{value // 10000}-{value // 100 % 100:02d}-{value % 100:02d}"

    click.echo(
        format_table(
            ["シナリオ名", "実行回数", "最初", "最後"],
            [(r.scenario, f"{r.runs:,}", day(r.first_day), day(r.last_day)) for r in rows],
        )
    )


@rpa_group.command("summary")
@period_options
@click.option(
    "--target",
    type=float,
    default=None,
    help="削減率の目標（既定は PILOTS_RPA_TARGET_RATE、0.80）。",
)
@json_option
@pass_app
def summary_command(app: App, period: Period, target: float | None, as_json: bool) -> None:
    """RPAによる削減時間と削減率を、業務・所属・月ごとに集計します（SPEC §4 の規則）。"""
    from pilots.output import to_json
    from pilots.rpa.measure import summarize

    target_rate = rate_option(app, target, "--target")
    with app.session() as session:
        summary = summarize(session, period, target_rate=target_rate)
    if as_json:
        click.echo(to_json(summary))
        return
    click.echo(_summary_text(summary))


def _summary_text(s: RpaSummary) -> str:
    from pilots.output import format_table

    verdict = {True: "達成", False: "未達", None: "測定中（対象の実行がありません）"}[s.met]
    lines = [
        f"RPA 削減時間 {s.period_label}",
        "",
        f"削減時間: {hours_text(s.reduced_hours)} 時間（従来 {hours_text(s.baseline_hours)} 時間"
        f" − RPA導入後 {hours_text(s.residual_hours)} 時間）",
        f"削減率（全業務をまとめた率）: {percent_text(s.reduction_rate)}"
        f"  目標 {s.target_rate:.0%} → {verdict}",
        f"参考: 業務別削減率の単純平均 {percent_text(s.mean_task_rate)}（{s.tasks_with_rate}業務）",
        f"集計した実行: 成功 {s.runs_success:,}回、失敗 {s.runs_failure:,}回",
        "集計から除いたもの:",
    ]
    for item in s.excluded:
        lines.append(f"  {item.label}: {item.count:,} — {item.reason}")
    if s.other_by_status:
        lines.append(
            "  その他の状態: " + "、".join(f"{k} {v:,}" for k, v in s.other_by_status.items())
        )
    for name in s.unmatched_scenarios[:10]:
        lines.append(f"  未登録シナリオ: {name.scenario}（{name.runs:,}回）")
    lines += ["", "業務別:"]
    lines.append(
        format_table(
            [
                "業務ID",
                "業務名",
                "所属",
                "実行",
                "件数",
                "従来(時間)",
                "導入後(時間)",
                "削減(時間)",
                "削減率",
            ],
            [
                (
                    t.task_id,
                    t.task_name,
                    t.department,
                    f"{t.runs:,}",
                    cases_text(t.cases),
                    hours_text(t.baseline_hours),
                    hours_text(t.residual_hours),
                    hours_text(t.reduced_hours),
                    percent_text(t.reduction_rate),
                )
                for t in s.tasks
            ],
        )
    )
    lines += ["", "所属別:"]
    lines.append(
        format_table(
            ["所属", "業務", "実行", "従来(時間)", "導入後(時間)", "削減(時間)", "削減率"],
            [
                (
                    d.department,
                    d.tasks,
                    f"{d.runs:,}",
                    hours_text(d.baseline_hours),
                    hours_text(d.residual_hours),
                    hours_text(d.reduced_hours),
                    percent_text(d.reduction_rate),
                )
                for d in s.by_department
            ],
        )
    )
    lines += ["", "月別:"]
    lines.append(
        format_table(
            [
                "月",
                "成功",
                "失敗",
                "その他",
                "未登録",
                "従来(時間)",
                "導入後(時間)",
                "削減(時間)",
                "削減率",
            ],
            [
                (
                    m.month,
                    f"{m.runs_success:,}",
                    f"{m.runs_failure:,}",
                    f"{m.other_runs:,}",
                    f"{m.unmatched_runs:,}",
                    hours_text(m.baseline_hours),
                    hours_text(m.residual_hours),
                    hours_text(m.reduced_hours),
                    percent_text(m.reduction_rate),
                )
                for m in s.by_month
            ],
        )
    )
    lines += ["", "規則: " + s.rule]
    return "\n".join(lines)
