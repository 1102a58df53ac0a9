"""`python -m bench [NAME...]`: run the benchmarks (all, or those whose module names match)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    """Run each bench_*.py module's run() and print its comparison lines."""
    names = sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    wanted = [n for n in names if not argv or any(a in n for a in argv)]
    for name in wanted:
        module = importlib.import_module(f"bench.{name}")
        print(f"# {name}: {(module.__doc__ or '').strip().splitlines()[0]}", flush=True)
        for comparison in module.run():
            print(comparison.line(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
