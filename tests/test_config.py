"""The settings table and the README section generated from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilots.config import SETTINGS, Settings, settings_markdown
from pilots.errors import ConfigError

README = Path(__file__).parent.parent / "README.md"


def test_readme_settings_section_matches_the_table() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- settings:start -->\n") + len("<!-- settings:start -->\n")
    end = text.index("<!-- settings:end -->")
    assert text[start:end] == settings_markdown(), (
        "README settings are stale: run `pilots settings --markdown` and paste the table"
    )


def test_every_setting_has_help_and_env_name() -> None:
    for s in SETTINGS:
        assert s.help.strip()
        assert s.env == "PILOTS_" + s.name.upper().replace(".", "_")
        assert s.env.replace("_", "").isalnum()  # a variable every shell can set


def test_a_dotted_setting_is_read_from_its_underscore_variable() -> None:
    settings = Settings({"PILOTS_ASR_MAX_CORRECTION_RATIO": "5"})
    assert settings.get("asr.max_correction_ratio") == 5
    assert settings.source("asr.max_correction_ratio") == "PILOTS_ASR_MAX_CORRECTION_RATIO"
    assert Settings({}).get("asr.max_correction_ratio") == 10


def test_environment_overrides_default() -> None:
    settings = Settings({"PILOTS_DATA_DIR": "/srv/pilots"})
    assert str(settings.data_dir) == "/srv/pilots"
    assert settings.database_url() == "sqlite:////srv/pilots/pilots.db"
    assert settings.source("data_dir") == "PILOTS_DATA_DIR"
    assert Settings({}).source("data_dir") == "default"


def test_bad_setting_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="PILOTS_SQLITE_BUSY_TIMEOUT"):
        Settings({"PILOTS_SQLITE_BUSY_TIMEOUT": "-3"}).get("sqlite_busy_timeout")
