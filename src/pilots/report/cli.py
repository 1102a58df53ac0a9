"""``pilots report``: the interim or final effect report from the plan and the measured data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from pilots.cli import App, pass_app, period_options

if TYPE_CHECKING:
    from pilots.calendar import Period

DEFAULT_PLAN = Path("data") / "demo" / "plan.yaml"


@click.command("report")
@period_options
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"計画ファイル（YAML、既定 {DEFAULT_PLAN}）。",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["html", "xlsx", "md"]),
    help="出力形式（複数指定可、既定は3形式すべて）。",
)
@click.option(
    "-o",
    "--output-dir",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="出力先フォルダ。",
)
@pass_app
def report_command(
    app: App,
    period: Period,
    plan_path: Path | None,
    formats: tuple[str, ...],
    out_dir: Path,
) -> None:
    """効果測定レポート（中間・最終）を HTML・Excel・Markdown で書き出します。

    計画ファイルの指標ごとに、実績値を元データから集計して目標と比べ（達成・未達・測定中）、
    スケジュールの進み具合、グラフ、集計方法、除外したデータを載せます。
    """
    from pilots.calendar import today
    from pilots.errors import ConfigError
    from pilots.report.build import build_report
    from pilots.report.plan import load_plan
    from pilots.report.writers import write_report

    plan = load_plan(plan_path or DEFAULT_PLAN)
    if plan.fiscal_year != period.fiscal_year:
        raise ConfigError(
            "--fy",
            f"計画ファイル {plan.path} は {plan.fiscal_year} 年度の計画です"
            f"（--fy {period.fiscal_year}）",
        )
    settings = app.settings
    with app.session() as session:
        report = build_report(
            session,
            plan,
            period,
            default_baseline_rate=settings.get("default_baseline_rate"),
            satisfaction_target=settings.get("satisfaction_target"),
            rpa_target=settings.get("rpa_target_rate"),
            generated=today(),
        )
    written = write_report(report, out_dir, formats)
    for indicator in report.indicators:
        if indicator.target:
            click.echo(
                f"{indicator.initiative} / {indicator.name}: {indicator.actual_text}"
                f"（目標 {indicator.target}）{indicator.status}"
            )
    for path in written:
        click.echo(str(path))


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="デモのデータベース・議事録案・レポートの出力先。",
)
@click.option(
    "--data",
    "demo_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data") / "demo",
    show_default=True,
    help="デモデータのフォルダ。",
)
@click.option(
    "--samples",
    "samples_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data") / "samples",
    show_default=True,
    help="サンプル録音のフォルダ。",
)
@click.option("--no-transcribe", is_flag=True, help="サンプル録音の音声認識を省きます。")
@pass_app
def demo_command(
    app: App, out_dir: Path, demo_dir: Path, samples_dir: Path, no_transcribe: bool
) -> None:
    """令和元年度のデモデータから新しいデータベースを作り、中間・最終レポートを書き出します。

    data/demo/ の所属一覧・利用報告・満足度調査・RPA業務台帳と実行ログを取り込み、
    サンプル録音を実際に音声認識して、効果測定レポートを作ります（--db は使いません）。
    """
    from pilots.demo import run_demo

    result = run_demo(
        demo_dir,
        samples_dir,
        out_dir,
        app.settings,
        transcribe=not no_transcribe,
        step=lambda message: click.echo(message, err=True),
    )
    click.echo(f"データベース: {result.database}")
    for path in result.minutes:
        click.echo(f"議事録案: {path}")
    for path in result.interim:
        click.echo(f"中間レポート: {path}")
    for path in result.final:
        click.echo(f"最終レポート: {path}")
