"""`python -m pilots` runs the command line."""

from __future__ import annotations

from pilots.cli import main

main()
