"""What each integration test leaves behind, recorded so that a refactoring can be shown to change nothing.

With `RECORD_OUTCOMES=<directory>` set, every test that runs the system (tests/conftest.py `stop_running`) writes
one JSON file there before its keys are deleted: each dialog as stored, its log records and its ledger records,
in a stable order. When two recordings are compared, what differs from run to run is normalised: dialog ids,
event ids from the test counter, random or keyed hex (client-id tags, USSD session ids, ledger hashes and
signatures) and IINs become `D1`, `E1`, `H1`, `I1`… in order of first appearance. The simulated clock makes every
time repeatable as it is, and the retry jitter is seeded (tests/conftest.py).

    RECORD_OUTCOMES=/tmp/before .venv/bin/python -m pytest tests/integration -k "not fakeredis and not kannel"
    ... change the code ...
    RECORD_OUTCOMES=/tmp/after  .venv/bin/python -m pytest tests/integration -k "not fakeredis and not kannel"
    .venv/bin/python -m tests.outcomes /tmp/before /tmp/after

The last command prints each test whose outcome differs, with a unified diff, and exits 1 if any does (a test
recorded in only one of the two runs is listed as well). With `--sort` first, it sorts the differing tests instead:
identical, differing only by a closed dialog's `compact` timer (bot/compaction.py), only in instants (a resend's
jitter comes from the dialog's random id) or the order of log records (an asynchronous delivery report racing a
step), or otherwise (each of these is listed, to be explained).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bot.store import Store

_DIALOG_ID = re.compile(r"d_[0-9a-f]{4}(?:-[0-9a-f]{4}){3}")
_EVENT_ID = re.compile(r"\b[a-z]+-test-\d{6}\b")
_HEX = re.compile(r"(?<![0-9a-f])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{8,}(?![0-9a-f])")  # USSD sessions too
_IIN = re.compile(r"(?<!\d)\d{12}(?!\d)")  # the dev page's people are drawn at random


def normalise(text: str) -> str:
    """Replace the run-to-run values in `text` by placeholders numbered in order of first appearance."""
    for pattern, letter in ((_DIALOG_ID, "D"), (_EVENT_ID, "E"), (_HEX, "H"), (_IIN, "I")):
        seen: dict[str, str] = {}

        def placeholder(match: re.Match[str], seen: dict[str, str] = seen, letter: str = letter) -> str:
            return seen.setdefault(match.group(0), f"{letter}{len(seen) + 1}")

        text = pattern.sub(placeholder, text)
    return text


async def snapshot(redis: Redis, prefix: str, shards: int) -> str:
    """Every dialog under `prefix` with its log and ledger records, as normalised, indented JSON."""
    store = Store(redis, prefix, shards=shards)
    ids = await store.list_ids(None, 0, 100_000)
    dialogs = await store.load_many(ids)
    # Stable order without the random ids: creation time, then what the test chose.
    dialogs.sort(key=lambda d: (d.created_at, d.msisdn, d.service, d.event_date, d.subject_iins, d.state))
    out: list[dict[str, Any]] = []
    for dialog in dialogs:
        out.append({"dialog": json.loads(dialog.to_json()),
                    "log": await store.dialog_log(dialog.dialog_id),
                    "ledger": await store.dialog_ledger(dialog.dialog_id)})
    return json.dumps(out, ensure_ascii=False, indent=1, sort_keys=True)  # normalised when compared


async def record(redis: Redis, prefix: str, shards: int) -> None:
    """Write this test's outcome when RECORD_OUTCOMES names a directory (nothing otherwise)."""
    directory = os.environ.get("RECORD_OUTCOMES")
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    if not directory or not test:
        return
    _append(Path(directory), re.sub(r"[^A-Za-z0-9_.-]+", "_", test), await snapshot(redis, prefix, shards))


def _append(directory: Path, name: str, text: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f"{name}.json").open("a", encoding="utf-8") as file:  # a test may start several systems
        file.write(text + "\n")


def compare(before: Path, after: Path) -> int:
    """Print every test whose recorded outcome differs between two directories; the number of them."""
    names = sorted({p.name for p in before.glob("*.json")} | {p.name for p in after.glob("*.json")})
    differing = 0
    for name in names:
        old, new = before / name, after / name
        if not old.exists() or not new.exists():
            differing += 1
            print(f"{name}: recorded only {'after' if new.exists() else 'before'}")
            continue
        a, b = normalise(old.read_text(encoding="utf-8")), normalise(new.read_text(encoding="utf-8"))
        if a != b:
            differing += 1
            print(f"{name}: differs")
            sys.stdout.writelines(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "before", "after",
                                                       n=2))
    print(f"{len(names)} tests recorded, {differing} differ")
    return differing


_INSTANT = re.compile(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)"')


def _documents(text: str) -> list[Any]:
    """The recordings in one file (a test that starts several systems appends each)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    text = text.strip()
    while at < len(text):
        document, at = decoder.raw_decode(text, at)
        found.append(document)
        while at < len(text) and text[at].isspace():
            at += 1
    return found


def _without_compact_timer(documents: list[Any]) -> str:
    for document in documents:
        for entry in document:
            entry["dialog"].get("timers", {}).pop("compact", None)
    return normalise(json.dumps(documents, ensure_ascii=False, sort_keys=True))


def _without_instants_or_order(documents: list[Any]) -> str:
    """Also without the compact timer: a test may differ by both."""
    for document in documents:
        for entry in document:
            entry["dialog"].get("timers", {}).pop("compact", None)
            for record in entry["log"]:
                record.pop("lag_seconds", None)
            entry["log"].sort(key=lambda r: _INSTANT.sub('"T"', json.dumps(r, ensure_ascii=False, sort_keys=True)))
    return normalise(_INSTANT.sub('"T"', json.dumps(documents, ensure_ascii=False, sort_keys=True)))


def sort_differences(before: Path, after: Path) -> dict[str, list[str]]:
    """The tests recorded in both directories, by how far their outcomes differ."""
    kinds: dict[str, list[str]] = {"identical": [], "compact timer only": [], "instants or log order only": [],
                                   "other": []}
    names = sorted({p.name for p in before.glob("*.json")} & {p.name for p in after.glob("*.json")})
    for name in names:
        a, b = (before / name).read_text(encoding="utf-8"), (after / name).read_text(encoding="utf-8")
        if normalise(a) == normalise(b):
            kinds["identical"].append(name)
        elif _without_compact_timer(_documents(a)) == _without_compact_timer(_documents(b)):
            kinds["compact timer only"].append(name)
        elif _without_instants_or_order(_documents(a)) == _without_instants_or_order(_documents(b)):
            kinds["instants or log order only"].append(name)
        else:
            kinds["other"].append(name)
    return kinds


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--sort"] and len(arguments) == 3:
        sorted_kinds = sort_differences(Path(arguments[1]), Path(arguments[2]))
        for kind, tests in sorted_kinds.items():
            print(f"{kind}: {len(tests)}")
        print("\n".join(f"  {name}" for name in sorted_kinds["other"]))
        sys.exit(0)
    if len(arguments) != 2:
        sys.exit("usage: python -m tests.outcomes [--sort] BEFORE_DIR AFTER_DIR")
    sys.exit(1 if compare(Path(arguments[0]), Path(arguments[1])) else 0)
