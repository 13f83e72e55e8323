"""The command line of a generated page (docs/texts.md, docs/states.md): write it, or with --check say if stale."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def write_or_check(prog: str, description: str | None, path: Path, render: Callable[[], str],
                   argv: list[str] | None = None) -> int:
    """`prog [--check]`: write `path` from `render()`; with --check, exit 1 (naming the command) if it differs."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {path.name} is not current")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != page:
            print(f"{path} is stale: run {prog}", file=sys.stderr)
            return 1
        return 0
    path.write_text(page, encoding="utf-8")
    print(f"wrote {path}")
    return 0
