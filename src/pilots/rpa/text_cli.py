"""What the ``pilots rpa`` commands share: how figures are written, and the rate option."""

from __future__ import annotations

from pilots.clikit import App
from pilots.errors import ConfigError


def who(given: str | None) -> str:
    """Who records an entry: the name given (``--by``), else the login name of this session."""
    if given is not None:
        return given
    import getpass

    return getpass.getuser()


def hours_text(value: float) -> str:
    """Hours with one decimal and thousands separators (1,803.4)."""
    return f"{value:,.1f}"


def percent_text(value: float | None) -> str:
    """A rate as a percentage with one decimal; — when there is none."""
    return "—" if value is None else f"{value:.1%}"


def cases_text(value: float) -> str:
    """A count of cases: whole numbers without decimals."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def rate_option(app: App, value: float | None, option: str) -> float:
    """A rate given on the command line (0 < rate ≤ 1), else the target rate setting.

    Raises:
        ConfigError: the rate is out of range (named by ``option``).
    """
    if value is None:
        target: float = app.settings.get("rpa_target_rate")
        return target
    if not 0 < value <= 1:
        raise ConfigError(option, f"0より大きく1以下の値にしてください（例: 0.8）: {value}")
    return value
