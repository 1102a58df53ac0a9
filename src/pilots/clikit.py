"""What every command shares: the context object, the shared options and types, error translation.

The sub-CLIs (``pilots/*/cli.py``) and the root group (:mod:`pilots.cli`) import
this module; it imports none of them, so the command line has one direction:
``pilots.cli`` → sub-CLIs → ``clikit`` → the library.

Library errors (:class:`pilots.errors.PilotsError`) become one Japanese line
beginning ``エラー:`` and exit status 1 in :class:`PilotsGroup`, and click's own
complaints about the command line in :func:`run`: here, and only
here. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from pilots.calendar import PERIOD_KINDS, Period, parse_date, period
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


def folder_option(*names: str, default: Path, help: str) -> Callable[[F], F]:
    """An option naming a folder, shown with its default in ``--help``."""
    return click.option(
        *names,
        type=click.Path(file_okay=False, path_type=Path),
        default=default,
        show_default=True,
        help=help,
    )


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


@dataclass(frozen=True)
class PeriodChoice:
    """``--fy``, ``--period`` and ``--as-of`` as given; the year may be left to the command."""

    fiscal_year: int | None
    kind: str
    as_of: date | None

    def resolve(self, default_year: int) -> Period:
        """The period, in ``default_year`` when ``--fy`` was not given.

        Raises:
            ConfigError: the as-of date lies outside the period.
        """
        fiscal_year = default_year if self.fiscal_year is None else self.fiscal_year
        try:
            return period(fiscal_year, self.kind, self.as_of)
        except CalendarError as exc:
            raise ConfigError("--as-of" if self.as_of else "--period", str(exc)) from None


def _period_option_list(required: bool) -> tuple[Callable[[F], F], ...]:
    return (
        click.option(
            "--fy",
            "fiscal_year",
            type=int,
            required=required,
            help="年度（西暦、例: 2019 = 令和元年度）。"
            + ("" if required else "既定は実行ログの最新の年度。"),
        ),
        click.option(
            "--period",
            "period_kind",
            type=click.Choice(PERIOD_KINDS),
            help="interim（中間: 4月〜9月末）または final（最終: 4月〜3月末）。",
            # No default at all when required: click treats an explicit default=None
            # as given, and the missing option would reach period() as None.
            **({"required": True} if required else {"default": "final", "show_default": True}),
        ),
        click.option(
            "--as-of",
            "as_of",
            type=DATE,
            help="基準日（期間の終わりを置き換えます。例: 2020-01-31、R2.1.31）。",
        ),
    )


def _with_period(
    func: Callable[..., Any], required: bool, make: Callable[[PeriodChoice], Any], name: str
) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(
        *args: Any, fiscal_year: int | None, period_kind: str, as_of: date | None, **kwargs: Any
    ) -> Any:
        kwargs[name] = make(PeriodChoice(fiscal_year, period_kind, as_of))
        return func(*args, **kwargs)

    for option in reversed(_period_option_list(required)):
        wrapper = option(wrapper)
    return wrapper


def period_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--fy N --period interim|final [--as-of DATE]``, handed to the command as ``period``."""

    def make(choice: PeriodChoice) -> Period:
        assert choice.fiscal_year is not None
        return choice.resolve(choice.fiscal_year)

    return _with_period(func, True, make, "period")


def period_choice_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``[--fy N] [--period interim|final] [--as-of DATE]`` (``--period`` final by default),
    handed to the command as ``choice`` (:class:`PeriodChoice`): the command picks the
    year when ``--fy`` is left out."""
    return _with_period(func, False, lambda choice: choice, "choice")


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


def run(group: click.Group, argv: list[str] | None) -> NoReturn:
    """Run the root group as the ``pilots`` command: every failure ends in one ``エラー:`` line.

    Ctrl-C and SIGTERM stop a command as :class:`Terminated` describes, with
    exit status 130 or 143.
    """
    from pilots.output import tolerate_console_encoding

    tolerate_console_encoding()
    _stop_on_sigterm()
    try:
        code = group.main(
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
