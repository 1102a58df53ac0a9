"""One way to make a Jinja2 environment: an office's own templates first, then pilots' own.

Every template pilots renders — the web pages, the effect report and the
Markdown minutes draft — comes from an environment made here, so that an
office can replace any of them by putting a file of the same name in its
folder (the ``template_dir`` setting, ``PILOTS_TEMPLATE_DIR``): the pages in
``<template_dir>/web/``, the report in ``<template_dir>/report/``, the
minutes in ``<template_dir>/`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pilots.errors import InputFileError

if TYPE_CHECKING:
    import jinja2


def office_folder(template_dir: Path | None, subfolder: str = "") -> Path | None:
    """The office's folder of templates for one part of pilots, if the office has one.

    Raises:
        InputFileError: ``template_dir`` is set but is not a folder (a typo
            must not quietly fall back to the shipped templates).
    """
    if template_dir is None:
        return None
    if not template_dir.is_dir():
        raise InputFileError(template_dir, "テンプレートのフォルダがありません")
    folder = template_dir / subfolder if subfolder else template_dir
    return folder if folder.is_dir() else None


def environment(
    package: str,
    template_dir: Path | None,
    subfolder: str = "",
    *,
    autoescape: bool,
    finalize: Callable[[Any], Any] | None = None,
    trim_blocks: bool = False,
    filters: dict[str, Callable[..., Any]] | None = None,
) -> jinja2.Environment:
    """An environment over ``<package>/templates`` with the office's folder in front of it.

    Args:
        package: the package whose ``templates`` folder holds the shipped templates.
        template_dir: the office's templates folder (the ``template_dir`` setting), or None.
        subfolder: the part of ``template_dir`` for this package (``web``, ``report``).
        autoescape: HTML escaping of every value (True for HTML; Markdown
            escapes through ``finalize`` instead).
        finalize: applied to every ``{{ value }}`` (Markdown's escape).
        trim_blocks: Jinja2's ``trim_blocks`` and ``lstrip_blocks``.
        filters: extra filters.
    """
    import jinja2

    loaders: list[jinja2.BaseLoader] = []
    office = office_folder(template_dir, subfolder)
    if office is not None:
        # utf-8-sig: Windows Notepad may save an office's template with a BOM.
        loaders.append(jinja2.FileSystemLoader(str(office), encoding="utf-8-sig"))
    loaders.append(jinja2.PackageLoader(package, "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=autoescape,
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=trim_blocks,
        lstrip_blocks=trim_blocks,
    )
    env.filters.update(filters or {})
    return env
