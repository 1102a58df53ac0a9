"""``pilots rpa issues`` and ``pilots rpa issue add|update|list|import``: operational issues.

The commands of :data:`ISSUE_COMMANDS` join the ``pilots rpa`` group in :mod:`pilots.rpa.cli`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click

from pilots.clikit import DATE, App, PeriodChoice, json_option, pass_app, period_choice_options
from pilots.rpa.text_cli import percent_text, who

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pilots.calendar import Period
    from pilots.rpa.issues import IssueSummary
    from pilots.rpa.register import IssueFields, RegisterSummary

GROUPS_SHOWN = 30  # failure groups listed as text (--json has every one)


def _when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat()


def _period(session: Session, choice: PeriodChoice) -> Period:
    """The period asked for; without ``--fy`` the latest year with runs (else this year)."""
    from pilots.calendar import fiscal_year_of, today
    from pilots.rpa.measure import latest_fiscal_year

    return choice.resolve(latest_fiscal_year(session) or fiscal_year_of(today()))


@click.command("issues")
@period_choice_options
@json_option
@pass_app
def issues_command(app: App, choice: PeriodChoice, as_json: bool) -> None:
    """実行ログから運用上の課題を抽出します（失敗をシナリオ・エラー・端末ごとにまとめ、失った時間の順に）。

    失敗率がほかの端末より明らかに高い端末は「要点検」と示します（端末管理、SPEC §4）。
    """
    from pilots.output import to_json
    from pilots.rpa.issues import summarize_issues

    with app.session() as session:
        summary = summarize_issues(
            session,
            _period(session, choice),
            alpha=app.settings.get("rpa.terminal_alpha"),
            min_runs=app.settings.get("rpa.terminal_min_runs"),
        )
    click.echo(to_json(summary) if as_json else _issues_text(summary))


def _issues_text(s: IssueSummary) -> str:
    from pilots.output import format_figure, format_table

    lines = [
        f"RPA 運用上の課題（実行ログから） {s.period_label}",
        "",
        f"失敗 {s.failures:,}回（{len(s.groups):,}組）、"
        f"失った時間 {format_figure(s.hours_lost)} 時間",
    ]
    lines += [f"集計から除いたもの: {e.label} {e.count:,}回 — {e.reason}" for e in s.excluded]
    if s.groups:
        lines += ["", "失敗の組（失った時間の多い順）:"]
        lines.append(
            format_table(
                [
                    *("業務ID", "シナリオ", "エラーコード", "エラー", "端末", "失敗"),
                    *("失った時間", "リトライ", "集中", "最初", "最後"),
                ],
                [
                    (
                        g.task_id,
                        g.scenario,
                        g.error_code or "—",
                        (g.error or "—").replace("\r", " ").replace("\n", " ")[:40],
                        g.terminal or "—",
                        f"{g.runs:,}",
                        format_figure(g.hours_lost),
                        "—" if g.retries is None else f"{g.retries:,}",
                        g.cluster,
                        _when(g.first_seen),
                        _when(g.last_seen),
                    )
                    for g in s.groups[:GROUPS_SHOWN]
                ],
            )
        )
        if len(s.groups) > GROUPS_SHOWN:
            lines.append(f"…ほか {len(s.groups) - GROUPS_SHOWN:,}組（--json で全件）")
    if s.terminals:
        lines += ["", "端末（端末管理）:"]
        lines.append(
            format_table(
                ["端末", "実行", "失敗", "失敗率", "ほかの端末", "p値", "判定"],
                [
                    (
                        t.terminal,
                        f"{t.runs:,}",
                        f"{t.failures:,}",
                        percent_text(t.failure_rate),
                        percent_text(t.others_rate),
                        "—" if t.p_value is None else f"{t.p_value:.2g}",
                        "要点検" if t.flagged else ("対象外" if t.p_value is None else ""),
                    )
                    for t in s.terminals
                ],
            )
        )
    lines += ["", "規則: " + s.rule, "端末: " + s.terminal_rule]
    return "\n".join(lines)


@click.group("issue")
def issue_group() -> None:
    """RPAチームの課題管理表（課題・原因・対応策・担当・状態）を記録し、解決の効果を示します。"""


def _register_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = (
        click.option("--title", help="課題。"),
        click.option("--cause", help="原因。"),
        click.option("--action", help="対応策。"),
        click.option("--owner", help="担当。"),
        click.option("--state", help="状態: 未対応・対応中・解決。"),
        click.option("--found", "found_on", type=DATE, help="発見日。"),
        click.option("--resolved", "resolved_on", type=DATE, help="解決日（状態は解決）。"),
        click.option("--task", "task_id", help="課題が説明する失敗の業務ID（空で解除）。"),
        click.option("--scenario", help="課題が説明する失敗のシナリオ名（空で解除）。"),
        click.option(
            "--error", help="課題が説明する失敗のエラーコード（コードがなければメッセージ）。"
        ),
        click.option("--terminal", help="課題が説明する失敗の端末（空で解除）。"),
        click.option("--by", "by", help="記録する人（既定はログイン名）。"),
    )
    for option in reversed(options):
        func = option(func)
    return func


def _fields(values: dict[str, Any]) -> IssueFields:
    from pilots.rpa.register import IssueFields

    return IssueFields(**{k: v for k, v in values.items() if k != "by"})


@issue_group.command("add")
@_register_options
@pass_app
def add_command(app: App, /, **values: Any) -> None:
    """課題を登録します（--title と --found は必須、状態の既定は未対応）。

    例: pilots rpa issue add --title "端末のメモリ不足で停止" --found 2019-09-10 --terminal WA-PC03
    """
    from pilots.rpa.register import add_issue

    with app.session() as session:
        number = add_issue(session, _fields(values), by=who(values.get("by")))
    click.echo(f"課題 No.{number} を登録しました")


@issue_group.command("update")
@click.argument("number", type=int)
@_register_options
@pass_app
def update_command(app: App, /, number: int, **values: Any) -> None:
    """登録した課題（番号）を変更します。書いた項目だけが変わります。

    例: pilots rpa issue update 2 --state 解決 --resolved 2019-11-18
    """
    from pilots.rpa.register import update_issue

    with app.session() as session:
        update_issue(session, number, _fields(values), by=who(values.get("by")))
    click.echo(f"課題 No.{number} を更新しました")


@issue_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_app
def import_command(app: App, file: str) -> None:
    """課題管理表のファイル（CSV または xlsx）を取り込みます。

    列: 課題, 状態, 発見日, 原因, 対応策, 担当, 解決日, 業務ID, シナリオ名, エラー, 端末。
    登録済みの課題（同じ課題名）は更新、それ以外は追加します。
    """
    from pilots.rpa.register import import_register

    with app.session() as session:
        result = import_register(session, file, by=who(None))
    click.echo(f"{file}: {result.rows}件（追加 {result.added}、更新 {result.updated}）")


@issue_group.command("list")
@period_choice_options
@json_option
@pass_app
def list_command(app: App, choice: PeriodChoice, as_json: bool) -> None:
    """課題管理表を、基準日時点の状態・説明する失敗・解決の前後の失敗率とともに表示します。"""
    from pilots.output import to_json
    from pilots.rpa.register import summarize_register

    with app.session() as session:
        summary = summarize_register(session, _period(session, choice))
    click.echo(to_json(summary) if as_json else _register_text(summary))


def _register_text(s: RegisterSummary) -> str:
    from pilots.output import format_figure, format_table
    from pilots.rpa.register import effect_text

    lines = [
        f"RPA 課題管理表 {s.period_label}",
        "",
        f"実運用上での課題の抽出と解決: {s.issues_extracted}件を抽出、{s.issues_resolved}件を解決",
    ]
    if s.found_later:
        lines.append(f"（基準日より後に発見した課題 {s.found_later}件は含めていません）")
    if not s.entries:
        lines.append("課題はまだ登録されていません（pilots rpa issue add）")
        return "\n".join(lines)
    rows = []
    for e in s.entries:
        effect = "" if e.effect is None else effect_text(e.effect)
        rows.append(
            (
                e.id,
                e.title,
                e.state,
                e.owner,
                e.found_on.isoformat(),
                e.resolved_on.isoformat() if e.resolved_on else "",
                e.links,
                f"{e.failures:,}",
                format_figure(e.hours_lost),
                effect,
            )
        )
    lines.append(
        format_table(
            [
                *("No.", "課題", "状態", "担当", "発見日", "解決日", "対象", "失敗"),
                *("失った時間", "解決の効果"),
            ],
            rows,
        )
    )
    for e in s.entries:
        if e.cause or e.action:
            lines.append(f"No.{e.id} 原因: {e.cause or '—'} / 対応策: {e.action or '—'}")
    lines += ["", "規則: " + s.rule]
    return "\n".join(lines)


ISSUE_COMMANDS = (issues_command, issue_group)
