"""A tiny run of the benchmark on real Redis: it finishes, and its figures are well-formed (never timed)."""

from __future__ import annotations

import asyncio
import json
import numbers
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import main, parse
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.integration

SPREAD = {"median", "min", "max", "runs"}


def _spread(value: Any) -> None:
    assert isinstance(value, dict) and set(value) == SPREAD, value
    for key in ("median", "min", "max"):
        assert value[key] is None or isinstance(value[key], numbers.Real), value
    assert isinstance(value["runs"], list)


def _number(value: Any) -> None:
    assert isinstance(value, numbers.Real) and not isinstance(value, bool), value


def test_a_tiny_benchmark_runs_and_reports_every_figure(tmp_path: Path) -> None:
    args = parse(["--size", "30", "--runs", "1", "--rates", "20,40", "--level-seconds", "1", "--target-rate", "20",
                  "--memory-sizes", "40", "--out", str(tmp_path), "--redis-url", REDIS_URL, "--max-minutes", "2",
                  "--workers", "1"])
    doc = asyncio.run(main(args))

    written = sorted(p.suffix for p in tmp_path.iterdir())
    assert written == [".json", ".md"]
    f = doc["figures"]
    _spread(f["events_per_second"])
    _number(f["events_per_second"]["median"])
    for key in ("event_to_first_sms_ms", "event_to_first_sms_ms_in_replay", "reply_to_next_sms_ms",
                "reply_to_next_sms_ms_in_replay"):
        for q in ("p50", "p95", "p99"):
            _spread(f[key][q])
    _number(f["reply_to_next_sms_ms"]["p99"]["median"])
    _spread(f["max_replies_per_second_p99_under_goal"])
    done = f["completed_dialogs_per_second"]
    _spread(done["1"])
    _number(done["1"]["median"])
    by_workers = f["completed_dialogs_per_second_by_worker_processes"]
    assert set(by_workers) == {"1"} and by_workers["1"]["all_in_status"] is True
    for key in ("completed_per_second", "cpu_ms_per_dialog_system", "cpu_ms_per_dialog_workers"):
        _spread(by_workers["1"][key])
        _number(by_workers["1"][key]["median"])
    assert doc["meta"]["worker_replays"]["1"][0]["verify"]["ok"]
    for key in ("year_replay_minutes_projected", "replay_wall_seconds", "replay_share_in_clock_moves",
                "redis_memory_bytes_per_open_dialog_via_http", "redis_memory_bytes_per_closed_dialog",
                "redis_memory_bytes_per_archived_dialog"):
        _spread(f[key])
    archived, closed = (f[k]["median"] for k in ("redis_memory_bytes_per_archived_dialog",
                                                  "redis_memory_bytes_per_closed_dialog"))
    _number(archived)
    assert archived < closed  # the closed dialogs were archived (bot/store/compaction.py)
    _number(f["redis_memory_bytes_per_open_dialog"]["40"])
    for key in ("bot_and_mocks_process", "redis", "load_generator", "bot_estimate", "mocks_estimate"):
        _spread(f["cpu_ms_per_dialog"][key])
    for key in ("round_trips", "commands", "steps_per_dialog", "steps_per_second"):
        _spread(f["redis_per_dialog_step"][key])
        _number(f["redis_per_dialog_step"][key]["median"])
    ceiling = f["redis_ceiling"]
    assert set(ceiling) == {"redis_benchmark", "steps_per_second", "dialogs_per_second"}
    assert {t["target"].split(" ")[0] for t in doc["targets"]} == {"completed", "reply-to-next-SMS", "Redis"}
    assert all(isinstance(t["met"], bool) for t in doc["targets"])

    replay = doc["runs"][0]["replay"]
    assert replay["finished"] and replay["verify"]["ok"], replay["verify"]

    text = next(tmp_path.glob("*.md")).read_text(encoding="utf-8")
    assert text.startswith("# Benchmark")
    load = doc["meta"]["load"]  # the caveat is measured: how busy the CPUs were, and by whom
    assert 0 < load["benchmark_and_redis_share"] and load["seconds"] > 0
    assert "Caveat: measured on" in text and "the CPUs were busy" in text
    for heading in ("## Targets", "## Figures", "## Reply ladder", "## Redis memory per open dialog",
                    "## Redis ceiling", "## Nothing lost"):
        assert heading in text
    table = [line for line in text.splitlines() if line.startswith("| events accepted per second")]
    assert len(table) == 1 and table[0].count("|") == 5


async def test_a_tiny_kannel_benchmark_runs_every_path_and_writes_its_table(tmp_path: Path) -> None:
    from bench.kannel import TEXT
    from bench.kannel import main as kannel_main
    from domain.sms_length import segments

    await kannel_main(["--messages", "20", "--concurrency", "4", "--redis-url", REDIS_URL, "--out", str(tmp_path)])
    result = json.loads((tmp_path / "kannel.json").read_text())
    for path in ("kannel_ceiling", "bot_channel", "bot_kannel", "bot_mock"):
        assert result[path]["sms"] == 20 and result[path]["sms_per_second"] > 0, path
    assert result["kannel_ceiling"]["parts"] == 20 * segments(TEXT)  # Kannel split each as we count parts
    assert result["bot_mock"]["kannel_cpu_ms_per_sms"] is None
    table = (tmp_path / "kannel.md").read_text()
    assert table.count("\n| ") == 5 and "share of Kannel's ceiling" in table


async def test_a_tiny_compaction_benchmark_archives_every_closed_dialog_and_reports_the_year() -> None:
    from bench.compaction import markdown, measure

    result = await measure(REDIS_URL, 20, clones=50)
    assert result["archived"] == result["finals"] == result["dialogs"] == 20
    assert result["checks"]["closed"]["ok"] and result["checks"]["archived"]["ok"]
    assert result["after"]["own"] < result["closed"]["own"] and result["after"]["kept"] < result["closed"]["kept"]
    assert set(result["info_bytes_per_clone"]) == {"closed", "archived"}
    year = result["year"]
    assert year["bytes_with_archiving"] < year["bytes_without_archiving"]
    assert "| dialog log, archived (string) |" in markdown(result)
