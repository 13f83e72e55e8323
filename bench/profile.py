"""Sampling profile of the system under test with py-spy: where its CPU goes, bot against mocks."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
# The simulated clock and the dev wiring are part of the simulation, like the mocks.
_SIMULATION = ("bot/clock.py", "bot/devserver.py")


def py_spy() -> str | None:
    """The py-spy executable beside this interpreter or on PATH, if installed."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


async def start(pid: int, output: Path, rate: int = 200) -> asyncio.subprocess.Process | None:
    """Start sampling `pid` (stacks in py-spy's raw collapsed format); None when py-spy is missing."""
    exe = py_spy()
    if exe is None:
        return None
    return await asyncio.create_subprocess_exec(
        exe, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--output", str(output),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def stop(process: asyncio.subprocess.Process) -> None:
    """Stop sampling; py-spy writes its output on SIGINT."""
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 120)


def _owner(path: str) -> str | None:
    path = path.replace("\\", "/")
    if any(path.endswith(s) for s in _SIMULATION) or "/gateway_mocks/" in f"/{path}":
        return "mocks"
    if any(f"/{package}/" in f"/{path}" for package in ("bot", "dialogs", "domain")):
        return "bot"
    return None


def _short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _library(path: str) -> str:
    short = _short(path)
    return short.split("/", 1)[0].removesuffix(".py") if "/" in short else short.removesuffix(".py")


def analyse(raw: Path, top: int = 15) -> dict[str, Any]:
    """Shares of samples: bot / mocks / neither (by the deepest project frame), and the top functions."""
    # `self` counts the leaf frame; `inclusive` every project function on the stack once; `project` the deepest
    # frame in bot/, dialogs/, domain/ or gateway_mocks/ (so a JSON dump called from Dialog.to_json counts for to_json).
    owners: Counter[str] = Counter()
    unowned: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    project: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = []
        for frame in stack_text.split(";"):
            match = _FRAME.match(frame)
            if match:
                frames.append((match["func"], match["file"]))
        if not frames:
            continue
        total += count
        deepest = next(((f, p, o) for f, p in reversed(frames) if (o := _owner(p))), None)
        if deepest is None:
            owners["neither (event loop, HTTP server, libraries)"] += count
            unowned[_library(frames[-1][1])] += count
        else:
            owners[deepest[2]] += count
            project[f"{deepest[0]} ({_short(deepest[1])})"] += count
        leaf[f"{frames[-1][0]} ({_short(frames[-1][1])})"] += count
        for name in {f"{f} ({_short(p)})" for f, p in frames if _owner(p)}:
            inclusive[name] += count

    def shares(counter: Counter[str], n: int | None = None) -> list[dict[str, Any]]:
        return [{"name": k, "share": v / total} for k, v in counter.most_common(n)] if total else []

    return {"samples": total, "owners": {k: v / total for k, v in owners.items()} if total else {},
            "neither_by_library": shares(unowned, 8), "top_self": shares(leaf, top),
            "top_inclusive": shares(inclusive, top * 2), "top_project": shares(project, top)}
