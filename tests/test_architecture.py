"""The import direction of ARCHITECTURE.md, read from the source with ``ast``.

Every ``import`` counts wherever it is written: at the top of a module, inside a
function (where heavy or late imports go), or under ``if TYPE_CHECKING:``. An
import inside a function only hides a circle from Python's import order, and a
type-only import is still a dependency for whoever reads the code, so the
floors must hold for all of them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

import pilots

SOURCE = Path(pilots.__file__).parent

CLI_FRONT = ("pilots.cli", "pilots.__main__")
"""The root group and the ``python -m pilots`` entry point: nothing below imports them."""

FOUNDATIONS = frozenset(
    {
        "pilots",
        "pilots.calendar",
        "pilots.config",
        "pilots.db",
        "pilots.errors",
        "pilots.figures",
        "pilots.files",
        "pilots.org",
        "pilots.output",
        "pilots.processes",
        "pilots.tables",
        "pilots.tabular",
        "pilots.templating",
        "pilots.text",
    }
)
"""Floor 0 of ARCHITECTURE.md: what every part stands on (they may import each other)."""

PILOTS = ("pilots.asr", "pilots.rpa", "pilots.survey")
"""Floor 1: one package per pilot, each on the foundations only."""


@dataclass(frozen=True)
class Import:
    """One imported name: the pilots module it comes from, and the line."""

    module: str
    name: str | None
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SOURCE.rglob("*.py"))}


def _resolve(dotted: str) -> str | None:
    """The pilots module that ``dotted`` (a module, or a name inside one) lives in."""
    modules = _modules()
    while dotted and dotted not in modules:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


@cache
def _imports(module: str) -> tuple[Import, ...]:
    """Every import statement of ``module``, anywhere in its body."""
    path = _modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                # ``from pilots.asr import draft`` imports the module pilots.asr.draft.
                submodule = f"{base}.{alias.name}"
                if submodule in _modules():
                    found.append(Import(submodule, None, node.lineno))
                else:
                    found.append(Import(base, alias.name, node.lineno))
    return tuple(found)


def _pilots_imports(module: str) -> set[str]:
    targets = {_resolve(i.module) for i in _imports(module) if i.module.startswith("pilots")}
    return {t for t in targets if t is not None and t != module}


def _is_cli(module: str) -> bool:
    """The command-line floor: the root group, clikit, and every ``*/cli.py`` / ``*_cli.py``."""
    last = module.rpartition(".")[2]
    return module in (*CLI_FRONT, "pilots.clikit") or last == "cli" or last.endswith("_cli")


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _floor(module: str) -> tuple[int, str]:
    """The floor of ARCHITECTURE.md a module stands on, and its area on that floor."""
    if module in FOUNDATIONS or _under(module, "pilots.migrations"):
        return 0, module
    if module == "pilots.__main__":
        return 7, module
    if module == "pilots.cli":
        return 6, module
    area = ".".join(module.split(".")[:2])
    if _is_cli(module):
        return (4, module) if module == "pilots.clikit" else (5, area)
    if area in PILOTS:
        return 1, area
    if area == "pilots.report":
        return 2, area
    if area == "pilots.web" or module == "pilots.demo":
        return 3, area
    raise AssertionError(f"{module}: put it on a floor of ARCHITECTURE.md and in this test")


def _cycles() -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    graph = {m: sorted(_pilots_imports(m)) for m in _modules()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_the_source_is_found() -> None:
    """The checks below read the real package (a wrong path would make them pass on nothing)."""
    modules = _modules()
    assert {"pilots.cli", "pilots.clikit", "pilots.asr.draft", "pilots.web.worker"} <= set(modules)
    assert "pilots.clikit" in _pilots_imports("pilots.asr.cli")


def test_no_import_circle() -> None:
    assert _cycles() == []


def test_imports_run_down_the_floors() -> None:
    """A module imports from a lower floor, or from its own area on its floor.

    Floors: 0 foundations, 1 the pilots (asr, rpa, survey — never each other),
    2 report, 3 web and the demo, 4 clikit, 5 the sub-CLIs, 6 the root group,
    7 ``python -m pilots``.
    """
    wrong = []
    for module in _modules():
        floor, area = _floor(module)
        for target in _pilots_imports(module):
            target_floor, target_area = _floor(target)
            if target_floor > floor or (target_floor == floor and floor and target_area != area):
                wrong.append(f"{module} (floor {floor}) imports {target} (floor {target_floor})")
    assert sorted(wrong) == []


@pytest.mark.parametrize("module", sorted(m for m in _modules() if not _is_cli(m)))
def test_library_modules_never_import_click(module: str) -> None:
    """Library code returns results and raises PilotsError; only the command line prints."""
    wrong = [f"{module}:{i.line}" for i in _imports(module) if i.module.split(".")[0] == "click"]
    assert wrong == []


def test_report_never_imports_web() -> None:
    """The report reads the pilots' summaries; the web UI shows the report, not the other way."""
    wrong = sorted(
        (m, t)
        for m in _modules()
        if _under(m, "pilots.report")
        for t in _pilots_imports(m)
        if _under(t, "pilots.web")
    )
    assert wrong == []


def test_web_uses_only_the_public_names_of_the_library() -> None:
    """A page that needs a library's private helper is about to hold a SPEC rule itself."""
    wrong = [
        f"{m}:{i.line} imports {i.module}.{i.name}"
        for m in _modules()
        if _under(m, "pilots.web")
        for i in _imports(m)
        if i.name is not None
        and i.name.startswith("_")
        and i.module.startswith("pilots")
        and not _under(i.module, "pilots.web")
    ]
    assert wrong == []
