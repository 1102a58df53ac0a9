"""The ``pilots`` command: the root group, its context object, and error translation.

Commands parse options, call one library function and print its result.
Library errors (:class:`pilots.errors.PilotsError`) become one Japanese line
beginning ``エラー:`` and exit status 1 here, and only here; ``--debug`` shows
the traceback instead. Heavy libraries are imported inside the commands that
need them so that ``pilots --help`` is instant.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pilots import __version__
from pilots.calendar import PERIOD_KINDS, parse_date, period
from pilots.config import Settings
from pilots.errors import CalendarError, ConfigError, PilotsError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class App:
    """What every command shares: the settings and the database, opened on first use.

    ``default_db`` says the database is the default SQLite file (no ``--db``,
    no ``PILOTS_DATABASE_URL``): its data folder is created on first use,
    while a folder named by hand must exist (a typo is not an empty database).
    """

    settings: Settings
    db_url: str
    debug: bool = False
    default_db: bool = False
    _engine: Engine | None = field(default=None, repr=False)
    _factory: sessionmaker[Session] | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        """The engine, with the schema brought up to date the first time it is used."""
        if self._engine is None:
            self.open()
        assert self._engine is not None
        return self._engine

    def open(self, *, create_folder: bool = False) -> bool:
        """Open the database and bring its schema up to date.

        A SQLite file that did not exist is created, and one line on stderr
        says so: a summary that finds no data must not hide that it looked
        in a new, empty database.

        Args:
            create_folder: create a missing SQLite folder (``pilots init``);
                the default data folder is created anyway.

        Returns:
            True if migrations ran.
        """
        from pilots import db

        path = db.sqlite_file(self.db_url)
        new = path is not None and not path.exists()
        engine = db.make_engine(
            self.db_url,
            busy_timeout=self.settings.get("sqlite_busy_timeout"),
            create_folder=create_folder or self.default_db,
        )
        try:
            migrated = db.upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        if self._engine is not None:
            self._engine.dispose()
        self._engine = engine
        if new:
            click.echo(f"新しいデータベースを作成しました（空です）: {path}", err=True)
        return migrated

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction on the database (committed at the end of the block)."""
        from pilots import db

        if self._factory is None:
            self._factory = db.session_factory(self.engine)
        with db.session_scope(self._factory) as session:
            yield session

    def close(self) -> None:
        """Release the database connections."""
        if self._engine is not None:
            self._engine.dispose()


pass_app = click.make_pass_decorator(App)


def json_option(func: F) -> F:
    """``--json``: print the result as JSON instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help="結果をJSONで出力します。")(func)


class DateType(click.ParamType):  # type: ignore[type-arg,unused-ignore]  # generic from click 8.3
    """A date as offices write it (2019-04-01, 2019/4/1, 令和元年5月1日, R1.5.1 …).

    A bad value is a :class:`ConfigError` naming the option, so it is shown as
    the usual one ``エラー:`` line.
    """

    name = "DATE"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> date:
        if isinstance(value, date):
            return value
        try:
            return parse_date(str(value))
        except CalendarError as exc:
            option = param.opts[0] if param is not None and param.opts else "DATE"
            raise ConfigError(option, str(exc)) from None


DATE = DateType()


def period_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--fy N --period interim|final [--as-of DATE]``, handed to the command as ``period``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any, fiscal_year: int, period_kind: str, as_of: date | None, **kwargs: Any
    ) -> Any:
        try:
            chosen = period(fiscal_year, period_kind, as_of)
        except CalendarError as exc:
            raise ConfigError("--as-of" if as_of else "--period", str(exc)) from None
        return func(*args, period=chosen, **kwargs)

    options = (
        click.option(
            "--fy",
            "fiscal_year",
            type=int,
            required=True,
            help="年度（西暦、例: 2019 = 令和元年度）。",
        ),
        click.option(
            "--period",
            "period_kind",
            type=click.Choice(PERIOD_KINDS),
            required=True,
            help="interim（中間: 4月〜9月末）または final（最終: 4月〜3月末）。",
        ),
        click.option(
            "--as-of",
            "as_of",
            type=DATE,
            help="基準日（期間の終わりを置き換えます。例: 2020-01-31、R2.1.31）。",
        ),
    )
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def echo_import(source: str, result: Any, unit: str, *extra: str) -> None:
    """Print what an import did: its counts in one line, then the departments it created.

    ``result`` is an import result with ``rows``, ``added``, ``updated`` and
    ``unchanged`` (and optionally ``departments_created``); ``extra`` adds
    counts inside the brackets (除外 3).
    """
    counts = [f"追加 {result.added}", f"更新 {result.updated}", f"変更なし {result.unchanged}"]
    click.echo(f"{source}: {result.rows}{unit}（{'、'.join([*counts, *extra])}）")
    created = getattr(result, "departments_created", None)
    if created:
        click.echo("新規登録した所属: " + "、".join(created))


def _translate_sqlalchemy(exc: Exception) -> str | None:
    # Checked by module name so that the CLI does not import SQLAlchemy up front.
    if type(exc).__module__.startswith("sqlalchemy") and type(exc).__name__ in (
        "OperationalError",
        "InterfaceError",
        "ProgrammingError",
        "DatabaseError",
        "IntegrityError",
    ):
        orig = getattr(exc, "orig", None) or exc
        first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        return f"データベースエラー: {first}"
    return None


class PilotsGroup(click.Group):
    """A group that turns library errors into one ``エラー:`` line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PilotsError as exc:
            if _debug(ctx):
                raise
            click.echo(f"エラー: {exc}", err=True)
            ctx.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt as exc:
            click.echo("中断しました", err=True)
            ctx.exit(_interrupted_status(exc))
        except Exception as exc:
            if _debug(ctx):
                raise
            message = _translate_sqlalchemy(exc)
            if message is None:
                message = (
                    f"予期しないエラーです（{type(exc).__name__}: {exc}）。"
                    "--debug で詳細を表示します"
                )
            click.echo(f"エラー: {message}", err=True)
            ctx.exit(1)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager, ``kill``): stop as Ctrl-C does.

    A KeyboardInterrupt, so that everything that cleans up after Ctrl-C —
    temporary files removed, the transaction rolled back, the RPA parser
    process stopped, a web job put back in the queue — does so here too.
    """


def _terminate(_signum: int, _frame: object) -> None:
    raise Terminated


def _stop_on_sigterm() -> None:
    import signal

    # Where SIGTERM is ignored (or handled) by whoever started pilots, leave it so.
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)


def _interrupted_status(exc: BaseException | None) -> int:
    # 128 + the signal's number, as a shell reports a process it stopped.
    return 143 if isinstance(exc, Terminated) else 130


def _debug(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug"))


@click.group(cls=PilotsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="データベースURL（環境変数 PILOTS_DATABASE_URL、既定は <data_dir>/pilots.db の SQLite）。",
)
@click.option("--debug", is_flag=True, help="エラー時にトレースバックを表示します。")
@click.version_option(__version__, "--version", prog_name="pilots", message="%(prog)s %(version)s")
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


def _register() -> None:
    # The subcommand modules import pilots.cli for App and the decorators; they
    # are attached here, at the end, so that the import order stays one-way.
    import pilots.asr.measure_cli  # noqa: F401
    from pilots.asr.cli import asr_group
    from pilots.report.cli import demo_command, plan_group, report_command
    from pilots.rpa.cli import rpa_group
    from pilots.survey.cli import survey_group
    from pilots.web.cli import serve_command, users_group, worker_command

    cli.add_command(asr_group)
    cli.add_command(report_command)
    cli.add_command(demo_command)
    cli.add_command(plan_group)
    cli.add_command(rpa_group)
    cli.add_command(survey_group)
    cli.add_command(serve_command)
    cli.add_command(worker_command)
    cli.add_command(users_group)


_register()


def _usage_message(exc: click.UsageError) -> str:
    """Click's own complaints about the command line, in Japanese, naming the option."""
    hint = ""
    if isinstance(exc, click.BadParameter) and exc.param is not None and exc.ctx is not None:
        hint = exc.param.get_error_hint(exc.ctx)
    elif isinstance(exc, click.BadParameter) and exc.param_hint:
        hint = str(exc.param_hint)
    if isinstance(exc, click.MissingParameter):
        return f"{hint} を指定してください"
    if isinstance(exc, click.NoSuchOption):
        return f"{exc.option_name} というオプションはありません"
    if isinstance(exc, click.BadParameter):
        return f"{hint}: 値が正しくありません（{exc.message}）"
    return exc.format_message()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``pilots``): every failure ends in one ``エラー:`` line."""
    from pilots.output import tolerate_console_encoding

    tolerate_console_encoding()
    _stop_on_sigterm()
    try:
        code = cli.main(
            args=argv, prog_name="pilots", auto_envvar_prefix="PILOTS", standalone_mode=False
        )
    except click.UsageError as exc:
        if exc.ctx is not None:
            click.echo(exc.ctx.get_usage(), err=True)
        click.echo(f"エラー: {_usage_message(exc)}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"エラー: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort as exc:
        click.echo("中断しました", err=True)
        sys.exit(_interrupted_status(exc.__context__))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
