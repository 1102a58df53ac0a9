"""The ``pilots`` command: the root group, the commands of the whole toolkit, and ``main()``.

The root group opens the context object (:class:`pilots.clikit.App`) and gathers
the sub-groups, imported here at the top: each sub-CLI takes what every command
shares from :mod:`pilots.clikit` and never imports this module, so imports run
one way (ARCHITECTURE.md). Heavy libraries are imported inside the commands
that need them so that ``pilots --help`` is instant.
"""

from __future__ import annotations

from pathlib import Path

import click

from pilots.asr.cli import asr_group
from pilots.clikit import App, PilotsGroup, echo_import, folder_option, json_option, pass_app, run
from pilots.config import Settings
from pilots.report.cli import plan_group, report_command
from pilots.rpa.cli import rpa_group
from pilots.survey.cli import survey_group
from pilots.web.cli import serve_command, users_group, worker_command


def _print_version(ctx: click.Context) -> None:
    import pilots

    click.echo(f"pilots {pilots.__version__}")
    ctx.exit()


@click.group(
    cls=PilotsGroup,
    commands=[
        asr_group,
        plan_group,
        report_command,
        rpa_group,
        survey_group,
        serve_command,
        worker_command,
        users_group,
    ],
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="データベースURL（環境変数 PILOTS_DATABASE_URL、既定は <data_dir>/pilots.db の SQLite）。",
)
@click.option("--debug", is_flag=True, help="エラー時にトレースバックを表示します。")
@click.option(
    "--version",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=lambda ctx, _param, value: _print_version(ctx) if value else None,
    help="バージョンを表示して終了します。",
)
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, debug: bool) -> None:
    """pilots — IT実証事業（音声認識・RPA）の効果測定ツール。

    録音から議事録案を作り、RPAの実行ログと満足度調査から効果を集計し、
    中間・最終の効果測定レポートを書き出します。すべてオフラインで動きます。
    """
    settings = Settings()
    app = App(
        settings=settings,
        db_url=db_url or settings.database_url(),
        debug=debug,
        default_db=not (db_url or settings.get("database_url")),
    )
    ctx.obj = app
    ctx.call_on_close(app.close)


@cli.command("init")
@pass_app
def init_command(app: App) -> None:
    """データベースを作成し、スキーマを最新にします（各コマンドも初回に自動で行います）。

    SQLite のファイルのフォルダがなければ作ります（ほかのコマンドは、--db で指定した
    フォルダがないとエラーにします）。
    """
    from pilots import db

    migrated = app.open(create_folder=True)
    with app.engine.connect() as conn:
        revision = db.current_revision(conn)
    state = "スキーマを更新しました" if migrated else "スキーマは最新です"
    click.echo(f"{state}: {db.describe(app.engine)}（リビジョン {revision}）")


@cli.command("settings")
@json_option
@click.option("--markdown", is_flag=True, help="README 用の設定一覧（Markdown）を出力します。")
@pass_app
def settings_command(app: App, as_json: bool, markdown: bool) -> None:
    """設定の一覧（環境変数、既定値、現在の値）を表示します。"""
    from pilots.config import SETTINGS, settings_markdown
    from pilots.output import format_table, to_json

    if markdown:
        click.echo(settings_markdown(), nl=False)
        return
    rows = [
        {
            "name": s.name,
            "env": s.env,
            "default": s.default,
            "value": str(app.settings.get(s.name)),
            "source": app.settings.source(s.name),
            "help": s.help,
        }
        for s in SETTINGS
    ]
    if as_json:
        click.echo(to_json(rows))
    else:
        click.echo(
            format_table(
                ["環境変数", "値", "由来"], [(r["env"], r["value"], r["source"]) for r in rows]
            )
        )


@cli.group("org")
def org_group() -> None:
    """所属（部署）の取り込みと一覧。"""


@org_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@pass_app
def org_import_command(app: App, file: str, as_json: bool) -> None:
    """所属の一覧（CSV または xlsx）を取り込みます。

    列: code / 所属コード, name / 所属名, parent_code / 上位所属コード（任意）。
    同じ所属コードは更新され、1行でも誤りがあればファイル全体を取り込みません。
    """
    from pilots.org import import_org
    from pilots.output import to_json

    with app.session() as session:
        result = import_org(session, file)
    if as_json:
        click.echo(to_json(result))
    else:
        echo_import(file, result, "行")


@org_group.command("list")
@json_option
@pass_app
def org_list_command(app: App, as_json: bool) -> None:
    """所属の一覧を表示します。"""
    from pilots.org import list_departments
    from pilots.output import format_table, to_json

    with app.session() as session:
        rows = list_departments(session)
    if as_json:
        click.echo(to_json(rows))
        return
    if not rows:
        click.echo("所属はまだ登録されていません（pilots org import FILE）")
        return
    click.echo(
        format_table(
            ["所属コード", "所属名", "上位所属コード", "登録元"],
            [(r.code or "", r.name, r.parent_code or "", r.created_by) for r in rows],
        )
    )


@cli.command("demo")
@folder_option(
    "--out",
    "out_dir",
    default=Path("reports"),
    help="デモのデータベース・議事録案・レポートの出力先。",
)
@folder_option("--data", "demo_dir", default=Path("data") / "demo", help="デモデータのフォルダ。")
@folder_option(
    "--samples", "samples_dir", default=Path("data") / "samples", help="サンプル録音のフォルダ。"
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


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``pilots``): every failure ends in one ``エラー:`` line."""
    run(cli, argv)


if __name__ == "__main__":  # pragma: no cover
    main()
