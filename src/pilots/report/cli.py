"""``pilots report``: the interim or final effect report from the plan and the measured data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from pilots.clikit import App, folder_option, json_option, pass_app, period_options

if TYPE_CHECKING:
    from pilots.calendar import Period


@click.command("report")
@period_options
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="計画ファイル（YAML）。既定はデータベースにあるその年度の最新の計画。",
)
@click.option(
    "--projection",
    is_flag=True,
    help="基準日が今日より後の見込みのレポートを作ります（表紙に見込みと書きます）。",
)
@click.option(
    "--survey",
    "survey",
    help="満足度の指標に使う調査名（計画が調査を指定せず、期間内に調査が複数あるとき）。",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["html", "xlsx", "md"]),
    help="出力形式（複数指定可、既定は3形式すべて）。",
)
@folder_option("-o", "--output-dir", "out_dir", default=Path("reports"), help="出力先フォルダ。")
@pass_app
@click.pass_context
def report_command(
    ctx: click.Context,
    app: App,
    period: Period,
    plan_path: Path | None,
    projection: bool,
    survey: str | None,
    formats: tuple[str, ...],
    out_dir: Path,
) -> None:
    """効果測定レポート（中間・最終）を HTML・Excel・Markdown で書き出します。

    計画の指標ごとに、実績値を元データから集計して計画の目標と比べ（達成・未達・測定中）、
    スケジュールの進み具合、グラフ、集計方法、除外したデータを載せます。基準日は期間の
    終わりか今日の早いほうです（今日より後は --projection を付けたときだけ）。
    """
    from pilots import calendar
    from pilots.report.build import prepare_report
    from pilots.report.writers import write_report

    with app.session() as session:
        report = prepare_report(
            session,
            period,
            plan_file=plan_path,
            as_of_given=ctx.params.get("as_of") is not None,
            projection=projection,
            survey_choice=survey,
            default_baseline_rate=app.settings.get("default_baseline_rate"),
            today=calendar.today(),
        )
    written = write_report(
        report, out_dir, formats, template_dir=app.settings.optional_path("template_dir")
    )
    for note in report.notes:
        click.echo(f"注意: {note}", err=True)
    for indicator in report.indicators:
        if indicator.target:
            click.echo(
                f"{indicator.initiative} / {indicator.name}: {indicator.actual_text}"
                f"（目標 {indicator.target}）{indicator.status}"
            )
    for path in written:
        click.echo(str(path))


@click.group("plan")
def plan_group() -> None:
    """計画（年度の取組・指標・目標）をデータベースに取り込み、版を管理します。"""


@plan_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_app
def plan_import_command(app: App, file: Path, as_json: bool) -> None:
    """計画ファイル（YAML）を確かめてデータベースに取り込みます（年度ごとに新しい版）。

    前の版と同じ内容なら新しい版は作りません。pilots report は --plan がなければ
    その年度の最新の版を使います。
    """
    from pilots.calendar import format_fiscal_year
    from pilots.output import to_json
    from pilots.report.plan_store import import_plan

    with app.session() as session:
        result = import_plan(session, file)
    if as_json:
        click.echo(to_json(result))
        return
    year = format_fiscal_year(result.fiscal_year)
    if result.added:
        click.echo(f"{file} → {year}の計画「{result.title}」版 {result.version}")
    else:
        click.echo(f"{file}: {year}の計画の最新の版 {result.version} と同じ内容です（変更なし）")


@plan_group.command("export")
@click.option("--fy", "fiscal_year", type=int, help="年度（既定: 計画のある最新の年度）。")
@click.option("--version", "version", type=int, help="版（既定: 最新）。")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="書き出すファイル（既定: 標準出力）。",
)
@pass_app
def plan_export_command(
    app: App, fiscal_year: int | None, version: int | None, output: Path | None
) -> None:
    """データベースの計画を、取り込んだときの YAML のまま書き出します。"""
    from pilots.files import atomic_write
    from pilots.report.plan_store import stored_plan

    with app.session() as session:
        found, text = stored_plan(session, fiscal_year, version)
    if output is None:
        click.echo(text, nl=False)
        return
    atomic_write(output, lambda path: path.write_text(text, encoding="utf-8", newline=""))
    click.echo(f"{output}（{found.fiscal_year}年度の計画 版 {found.version}）")


@plan_group.command("list")
@click.option("--fy", "fiscal_year", type=int, help="年度（既定: すべて）。")
@json_option
@pass_app
def plan_list_command(app: App, fiscal_year: int | None, as_json: bool) -> None:
    """取り込んだ計画の版の一覧（新しい順）。"""
    from datetime import UTC

    from pilots.calendar import format_fiscal_year, to_japan_time
    from pilots.output import format_table, to_json
    from pilots.report.plan_store import plan_versions

    with app.session() as session:
        versions = plan_versions(session, fiscal_year)
    if as_json:
        click.echo(to_json(versions))
        return
    if not versions:
        click.echo("計画はまだ取り込まれていません（pilots plan import 計画.yaml）")
        return
    click.echo(
        format_table(
            ["年度", "版", "表題", "ファイル", "取り込み日時", "取り込んだ人"],
            [
                (
                    format_fiscal_year(v.fiscal_year),
                    v.version,
                    v.title,
                    v.file_name,
                    f"{to_japan_time(v.imported_at.replace(tzinfo=UTC)):%Y-%m-%d %H:%M}",
                    v.imported_by,
                )
                for v in versions
            ],
        )
    )
