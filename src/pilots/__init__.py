"""pilots: measure the effect of a government's IT pilots, offline."""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # The version is looked up when asked for: finding the installed
    # distribution scans sys.path (0.1 s), which no command but --version
    # and the report writers needs.
    if name != "__version__":
        raise AttributeError(f"module 'pilots' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("pilots")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0+unknown"
    globals()["__version__"] = found
    return found
