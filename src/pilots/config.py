"""The settings table: every setting's name, default, help and environment variable.

Settings are read from ``PILOTS_*`` environment variables; the README's
settings section is generated from :data:`SETTINGS` (``pilots settings
--markdown``) and a test checks the two agree.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pilots.errors import ConfigError


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError("must be positive")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError("must be in (0, 1]")
    return value


@dataclass(frozen=True)
class Setting:
    """One setting.

    Attributes:
        name: the name used in code (``settings.get("data_dir")``).
        default: the value used when the environment variable is not set, as text.
        help: what it does, for the README and ``pilots settings``.
        parse: turns the text value into the typed value.
    """

    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        """The environment variable that overrides the default."""
        return "PILOTS_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir",
        "data",
        "Folder for the default SQLite database, uploads and caches (relative to the "
        "current directory unless absolute).",
    ),
    Setting(
        "database_url",
        "",
        "SQLAlchemy URL of the database; empty means the SQLite file "
        "`<data_dir>/pilots.db`. `postgresql://user:pass@host/db` uses psycopg 3. "
        "The `--db` option overrides it.",
    ),
    Setting(
        "sqlite_busy_timeout",
        "30",
        "Seconds a SQLite writer waits for another writer to finish before giving up.",
        _positive_float,
    ),
)
_BY_NAME = {s.name: s for s in SETTINGS}


class Settings:
    """Typed access to the settings, read from an environment mapping."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def source(self, name: str) -> str:
        """Where the value of ``name`` comes from: its environment variable or 'default'."""
        setting = _BY_NAME[name]
        return setting.env if self._environ.get(setting.env, "") != "" else "default"

    def get(self, name: str) -> Any:
        """Return the typed value of a setting.

        Raises:
            ConfigError: the environment variable holds a value that cannot be used.
        """
        setting = _BY_NAME[name]
        text = self._environ.get(setting.env, "") or setting.default
        try:
            return setting.parse(text)
        except ValueError:
            raise ConfigError(setting.env, f"値が正しくありません: {text!r}") from None

    @property
    def data_dir(self) -> Path:
        """The data folder (``PILOTS_DATA_DIR``)."""
        return Path(self.get("data_dir")).expanduser()

    def database_url(self) -> str:
        """The configured database URL, or the default SQLite file in the data folder."""
        url: str = self.get("database_url")
        if url:
            return url
        return f"sqlite:///{self.data_dir / 'pilots.db'}"


def settings_markdown() -> str:
    """Render the settings table as the Markdown the README carries."""
    lines = [
        "| environment variable | default | what it does |",
        "|---|---|---|",
    ]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        lines.append(f"| `{s.env}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"
