"""The report: every figure as median and spread over runs (JSON), and the same as Markdown tables."""

from __future__ import annotations

from typing import Any

from bench.ceiling import ceiling
from bench.measure import spread

YEAR_OFFERS = 530_000
MULTI_WORKER_NOTE = ("'1': the system's own process does the work (as `proactive-bot dev`); with --workers, "
                     "see completed_dialogs_per_second_by_worker_processes: that many `proactive-bot worker` "
                     "processes do it, the system's process only answers HTTP and runs the mocks and the clock.")


def _level(run: dict[str, Any], rate: float) -> dict[str, Any] | None:
    return next((lv for lv in run["probes"]["ladder"] if lv["offered"] == rate), None)


def _max_rate(run: dict[str, Any], goal_ms: float) -> float | None:
    good = [lv["offered"] for lv in run["probes"]["ladder"]
            if lv["kept_up"] and lv["latency"]["p99"] is not None and lv["latency"]["p99"] <= goal_ms]
    return max(good, default=None)


def _per(value: float | None, count: float | None) -> float | None:
    return value / count if value is not None and count else None


def summarise(runs: list[dict[str, Any]], memory: list[dict[str, Any]], bench: dict[str, Any] | None,
              prof: dict[str, Any] | None, meta: dict[str, Any], target_rate: float = 200,
              goal_ms: float = 50) -> dict[str, Any]:
    """The figures over all runs, the targets set against them, and the detail they come from."""
    probes = [r["probes"] for r in runs]
    replays = [r["replay"] for r in runs]

    def over(values: list[float | None]) -> dict[str, Any]:
        return spread(values)

    at_rate = [_level(r, target_rate) for r in runs]
    rt_step = [_per(r["server"]["redis_round_trips"], r["server"]["step_total"]) for r in replays]
    cmd_step = [_per(r["server"]["redis_commands"], r["server"]["step_total"]) for r in replays]
    steps_per_s = [_per(r["server"]["step_total"], r["wall_seconds"]) for r in replays]
    completed = [r["completed_per_second"] for r in replays]
    rt_dialog = [_per(r["server"]["redis_round_trips"], r["citizens"]) for r in replays]
    cmd_dialog = [_per(r["server"]["redis_commands"], r["citizens"]) for r in replays]
    mocks_share = prof["owners"].get("mocks") if prof else None
    bot_share = prof["owners"].get("bot") if prof else None
    cpu_process = [_per(r["server"]["cpu_seconds"] * 1000, r["completed"]) for r in replays]
    figures: dict[str, Any] = {
        "events_per_second": over([p["events_per_second"] for p in probes]),
        "event_to_first_sms_ms": {q: over([p["event_latency"][q] for p in probes]) for q in ("p50", "p95", "p99")},
        "event_to_first_sms_ms_in_replay": {q: over([r["event_latency"][q] for r in replays])
                                            for q in ("p50", "p95", "p99")},
        "reply_to_next_sms_ms": {"offered_per_second": target_rate,
                                 **{q: over([lv["latency"][q] if lv else None for lv in at_rate])
                                    for q in ("p50", "p95", "p99")}},
        "reply_to_next_sms_ms_in_replay": {q: over([r["reply_latency"][q] for r in replays])
                                           for q in ("p50", "p95", "p99")},
        "max_replies_per_second_p99_under_goal": over([_max_rate(r, goal_ms) for r in runs]),
        "completed_dialogs_per_second": {"1": over(completed), "note": MULTI_WORKER_NOTE},
        "completed_dialogs_per_second_by_worker_processes": {
            count: {"completed_per_second": over([r["completed_per_second"] for r in replays_n]),
                    "cpu_ms_per_dialog_system": over([_per(r["server"]["cpu_seconds"] * 1000, r["completed"])
                                                      for r in replays_n]),
                    "cpu_ms_per_dialog_workers": over([_per(r["server"]["workers_cpu_seconds"] * 1000, r["completed"])
                                                       for r in replays_n]),
                    "redis_cpu_ms_per_dialog": over([_per(r["redis_cpu_seconds"] * 1000, r["completed"])
                                                     for r in replays_n]),
                    "all_in_status": all(r["verify"].get("ok", True) for r in replays_n)}
            for count, replays_n in meta.get("worker_replays", {}).items()},
        "year_replay_minutes_projected": over([YEAR_OFFERS / c / 60 if c else None for c in completed]),
        "replay_wall_seconds": over([r["wall_seconds"] for r in replays]),
        "replay_share_in_clock_moves": over([_per(r["clock_seconds"], r["wall_seconds"]) for r in replays]),
        "redis_memory_bytes_per_open_dialog": {str(m["dialogs"]): m["info_bytes_per_dialog"] for m in memory},
        "redis_memory_bytes_per_open_dialog_keys": {str(m["dialogs"]): m.get("keys_bytes_per_dialog")
                                                    for m in memory},
        "redis_memory_bytes_per_open_dialog_via_http": over([p["open_dialogs_via_http"]["bytes_per_dialog"]
                                                             for p in probes]),
        "redis_memory_bytes_per_closed_dialog": over([r["closed_dialogs_memory"]["bytes_per_dialog"]
                                                      for r in replays]),
        "redis_memory_bytes_per_closed_dialog_without_feed": over([_without_feed(r) for r in replays]),
        "redis_memory_bytes_per_archived_dialog": over([r["archived_dialogs_memory"]["bytes_per_dialog"]
                                                        if "archived_dialogs_memory" in r else None for r in replays]),
        "redis_memory_bytes_per_archived_dialog_without_feed": over([
            _without_feed(r, "archived_dialogs_memory") if "archived_dialogs_memory" in r else None
            for r in replays]),
        "cpu_ms_per_dialog": {
            "bot_and_mocks_process": over(cpu_process),
            "bot_estimate": over([c * bot_share / (bot_share + mocks_share) if c and bot_share is not None
                                  and mocks_share is not None else None for c in cpu_process]),
            "mocks_estimate": over([c * mocks_share / (bot_share + mocks_share) if c and bot_share is not None
                                    and mocks_share is not None else None for c in cpu_process]),
            "redis": over([_per(r["redis_cpu_seconds"] * 1000, r["completed"]) for r in replays]),
            "load_generator": over([_per(r["load_cpu_seconds"] * 1000, r["completed"]) for r in replays]),
        },
        "redis_per_dialog_step": {"round_trips": over(rt_step), "commands": over(cmd_step),
                                  "steps_per_dialog": over([_per(r["server"]["step_total"], r["citizens"])
                                                            for r in replays]),
                                  "steps_per_second": over(steps_per_s)},
        "redis_per_dialog": {"round_trips": over(rt_dialog), "commands": over(cmd_dialog)},
    }
    rt, cmds = figures["redis_per_dialog_step"]["round_trips"]["median"], figures["redis_per_dialog_step"][
        "commands"]["median"]
    figures["redis_ceiling"] = {
        "redis_benchmark": bench,
        "steps_per_second": ceiling(bench, rt, cmds, figures["redis_per_dialog_step"]["steps_per_second"]["median"]),
        "dialogs_per_second": ceiling(bench, figures["redis_per_dialog"]["round_trips"]["median"],
                                      figures["redis_per_dialog"]["commands"]["median"],
                                      figures["completed_dialogs_per_second"]["1"]["median"]),
    }
    return {"meta": meta, "figures": figures, "targets": targets(figures, memory, target_rate, goal_ms),
            "profile": prof, "memory": memory, "runs": runs}


def _without_feed(replay: dict[str, Any], reading: str = "closed_dialogs_memory") -> float:
    """Closed-dialog bytes without the live log feed (a stream capped at 100 000 records, shared by all)."""
    families = replay[reading]["families"]
    feed = sum(f["bytes"] for name, f in families.items() if name.startswith("live log feed"))
    return float(replay[reading]["bytes_per_dialog"] - feed / max(replay["citizens"], 1))


def targets(figures: dict[str, Any], memory: list[dict[str, Any]], rate: float, goal_ms: float) -> list[dict[str, Any]]:
    """Issue 7's three targets against the medians measured."""
    done = figures["completed_dialogs_per_second"]["1"]["median"]
    p99 = figures["reply_to_next_sms_ms"]["p99"]["median"]
    largest = max(memory, key=lambda m: m["dialogs"], default=None)
    per_open = largest["info_bytes_per_dialog"] if largest else None
    return [
        {"target": "completed dialogs per second end to end, 2 cores", "goal": ">= 600", "measured": done,
         "met": done is not None and done >= 600},
        {"target": f"reply-to-next-SMS p99 at {rate:g} replies/s", "goal": f"<= {goal_ms:g} ms", "measured": p99,
         "met": p99 is not None and p99 <= goal_ms},
        {"target": "Redis memory per open dialog" + (f" ({largest['dialogs']} open)" if largest else ""),
         "goal": "<= 2048 bytes", "measured": per_open, "met": per_open is not None and per_open <= 2048},
    ]


def _n(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}".replace(",", " ")
    return str(value)


def _row(name: str, s: dict[str, Any] | None, unit: str = "", digits: int = 1) -> str:
    if s is None:
        return f"| {name} | — | — | {unit} |"
    return f"| {name} | {_n(s['median'], digits)} | {_n(s['min'], digits)} – {_n(s['max'], digits)} | {unit} |"


def markdown(doc: dict[str, Any]) -> str:
    """The report as Markdown: machine and caveats, targets, figures, ladder, memory, CPU, ceiling, profile."""
    m, f = doc["meta"], doc["figures"]
    out = [f"# Benchmark — {m['date']}", "",
           f"Machine: {m['machine']['cores']} cores, {m['machine']['cpu_model']}, {m['machine']['memory_gib']} GiB; "
           f"Python {m['machine']['python']}; Redis {m.get('redis_version', '?')}. Load average at start: "
           f"{m['machine']['load_average_at_start']}.", "",
           *_units(m.get("unit_costs")),
           f"Command: `{m['command']}` — {m['runs']} run(s), replay of {m['size']} citizens at {m['daily']} "
           f"offers a simulated day.", "", f"Caveat: {m['caveat']}", "",
           "## Targets", "", "| target | goal | measured (median) | met |", "|---|---|---|---|"]
    out += [f"| {t['target']} | {t['goal']} | {_n(t['measured'])} | {_n(t['met'])} |" for t in doc["targets"]]
    out += ["", "## Figures (median, min – max over runs)", "", "| figure | median | spread | unit |",
            "|---|---|---|---|",
            _row("events accepted per second (burst)", f["events_per_second"], "events/s"),
            *(_row(f"event → first SMS {q} (burst)", f["event_to_first_sms_ms"][q], "ms")
              for q in ("p50", "p95", "p99")),
            *(_row(f"event → first SMS {q} (replay)", f["event_to_first_sms_ms_in_replay"][q], "ms")
              for q in ("p50", "p95", "p99")),
            *(_row(f"reply → next SMS {q} at {f['reply_to_next_sms_ms']['offered_per_second']:g}/s",
                   f["reply_to_next_sms_ms"][q], "ms") for q in ("p50", "p95", "p99")),
            *(_row(f"reply → next SMS {q} (replay)", f["reply_to_next_sms_ms_in_replay"][q], "ms")
              for q in ("p50", "p95", "p99")),
            _row("highest offered reply rate with p99 ≤ goal", f["max_replies_per_second_p99_under_goal"],
                 "replies/s", 0),
            _row("completed dialogs per second, 1 worker", f["completed_dialogs_per_second"]["1"], "dialogs/s"),
            *(_row(f"completed dialogs per second, {n} worker process(es)",
                   w["completed_per_second"], "dialogs/s")
              for n, w in f.get("completed_dialogs_per_second_by_worker_processes", {}).items()),
            *(_row(f"  CPU per dialog with {n}: front (HTTP, mocks, clock) / workers", w["cpu_ms_per_dialog_system"],
                   f"ms / {_n(w['cpu_ms_per_dialog_workers']['median'], 2)} ms", 2)
              for n, w in f.get("completed_dialogs_per_second_by_worker_processes", {}).items()),
            _row("530 000 offers replayed at that rate", f["year_replay_minutes_projected"], "minutes (linear)"),
            _row("replay wall time", f["replay_wall_seconds"], "s"),
            _row("share of replay wall time inside clock moves (timers)", f["replay_share_in_clock_moves"], "", 2),
            _row("Redis bytes per open dialog (made over HTTP, burst)",
                 f["redis_memory_bytes_per_open_dialog_via_http"], "bytes", 0),
            _row("Redis bytes per closed dialog kept (replay)", f["redis_memory_bytes_per_closed_dialog"], "bytes", 0),
            _row("  the same without the capped live log feed", f["redis_memory_bytes_per_closed_dialog_without_feed"],
                 "bytes", 0),
            *([_row("Redis bytes per closed dialog once archived (replay)",
                    f["redis_memory_bytes_per_archived_dialog"], "bytes", 0),
               _row("  the same without the capped live log feed",
                    f["redis_memory_bytes_per_archived_dialog_without_feed"], "bytes", 0)]
              if f.get("redis_memory_bytes_per_archived_dialog", {}).get("median") is not None else []),
            _row("CPU per completed dialog: bot + mocks process", f["cpu_ms_per_dialog"]["bot_and_mocks_process"],
                 "ms", 2),
            _row("  of which bot (profile share)", f["cpu_ms_per_dialog"]["bot_estimate"], "ms", 2),
            _row("  of which mocks (profile share)", f["cpu_ms_per_dialog"]["mocks_estimate"], "ms", 2),
            _row("CPU per completed dialog: Redis (INFO cpu, shared server)", f["cpu_ms_per_dialog"]["redis"], "ms", 2),
            _row("CPU per completed dialog: load generator", f["cpu_ms_per_dialog"]["load_generator"], "ms", 2),
            _row("Redis round trips per dialog step", f["redis_per_dialog_step"]["round_trips"], "", 1),
            _row("Redis commands per dialog step", f["redis_per_dialog_step"]["commands"], "", 1),
            _row("dialog steps per dialog", f["redis_per_dialog_step"]["steps_per_dialog"], "", 1),
            _row("dialog steps per second (replay)", f["redis_per_dialog_step"]["steps_per_second"], "steps/s"),
            _row("Redis round trips per dialog", f["redis_per_dialog"]["round_trips"], "", 0),
            _row("Redis commands per dialog", f["redis_per_dialog"]["commands"], "", 0)]
    out += _ladder(doc) + _memory(doc) + _ceiling(f["redis_ceiling"]) + _profile(doc.get("profile"))
    out += _checks(doc)
    return "\n".join(out) + "\n"


def _units(units: dict[str, Any] | None) -> list[str]:
    if not units:
        return []
    names = {"redis_get": "one redis-py GET", "redis_multi_10_set": "one MULTI/EXEC of 10 SETs",
             "http_post_in_process": "one aiohttp POST served in the same process"}
    parts = [f"{names[k]} {v['cpu_us']:.0f} µs CPU ({v['wall_us']:.0f} µs wall)" for k, v in units.items()]
    return [f"Unit costs on this machine, measured by the run: {'; '.join(parts)}.", ""]


def _ladder(doc: dict[str, Any]) -> list[str]:
    out = ["", "## Reply ladder (open loop; run 1)", "",
           "| offered/s | achieved/s | replies | p50 ms | p95 ms | p99 ms | kept up | Redis RT/reply | cmds/reply |",
           "|---|---|---|---|---|---|---|---|---|"]
    for lv in doc["runs"][0]["probes"]["ladder"] if doc["runs"] else []:
        server = lv["server"]
        out.append(f"| {lv['offered']:g} | {_n(lv['achieved'])} | {lv['sent']} | {_n(lv['latency']['p50'])} | "
                   f"{_n(lv['latency']['p95'])} | {_n(lv['latency']['p99'])} | {_n(lv['kept_up'])} | "
                   f"{_n(_per(server['redis_round_trips'], lv['sent']))} | "
                   f"{_n(_per(server['redis_commands'], lv['sent']))} |")
    return out


def _memory(doc: dict[str, Any]) -> list[str]:
    out = ["", "## Redis memory per open dialog", "",
           "| open dialogs | made by the engine | cloned | INFO used_memory / dialog "
           "| MEMORY USAGE of its keys / dialog |",
           "|---|---|---|---|---|"]
    for m in doc["memory"]:
        out.append(f"| {m['dialogs']} | {m['by_engine']} | {m['cloned']} | {_n(m['info_bytes_per_dialog'], 0)} | "
                   f"{_n(m.get('keys_bytes_per_dialog'), 0)} |")
    detailed = next((m for m in doc["memory"] if m.get("families_bytes_per_dialog")), None)
    closed = doc["runs"][0]["replay"]["closed_dialogs_memory"] if doc["runs"] else None
    archived = doc["runs"][0]["replay"].get("archived_dialogs_memory") if doc["runs"] else None
    if detailed or closed:
        out += ["", "Bytes per dialog by key family (open: the memory experiment; closed: the replay of run 1, "
                "kept, then once archived):", "",
                "| key family | open | closed, kept | closed, archived |", "|---|---|---|---|"]
        names = list((detailed or {}).get("families_bytes_per_dialog", {}))
        names += [n for n in (closed or {}).get("families", {}) if n not in names]
        names += [n for n in (archived or {}).get("families", {}) if n not in names]
        count = doc["runs"][0]["replay"]["citizens"] if doc["runs"] else 1
        for name in names:
            open_b = (detailed or {}).get("families_bytes_per_dialog", {}).get(name)
            fam = (closed or {}).get("families", {}).get(name)
            later = (archived or {}).get("families", {}).get(name)
            out.append(f"| {name} | {_n(open_b, 0)} | {_n(fam['bytes'] / count if fam else None, 0)} | "
                       f"{_n(later['bytes'] / count if later else None, 0)} |")
    return out


def _ceiling(c: dict[str, Any]) -> list[str]:
    bench = c["redis_benchmark"]
    if bench is None:
        return ["", "## Redis ceiling", "", "redis-benchmark was not found: no ceiling."]
    out = ["", "## Redis ceiling (redis-benchmark on the same machine and server)", "",
           "| redis-benchmark shape | clients | pipeline | per second | p50 ms |", "|---|---|---|---|---|"]
    for name in ("sequential_round_trips", "round_trips", "pipelined_commands"):
        b = bench[name]
        out.append(f"| {name} | {b['clients']} | {b['pipeline']} | {_n(b['per_second'], 0)} | {_n(b['p50_ms'], 3)} |")
    out += ["", "| unit | ceiling by round trips | by commands | one client at a time | achieved / ceiling |",
            "|---|---|---|---|---|"]
    for unit in ("steps_per_second", "dialogs_per_second"):
        x = c[unit]
        out.append(f"| {unit.replace('_', ' ')} | {_n(x['by_round_trips'])} | {_n(x['by_commands'])} | "
                   f"{_n(x['sequential'])} | {_n(x['ratio'], 3)} |")
    return out


def _profile(prof: dict[str, Any] | None) -> list[str]:
    if not prof:
        return ["", "## Profile", "", "Not taken (run with `--profile`; needs py-spy)."]
    out = ["", f"## Profile of the bot + mocks process during a replay (py-spy, {prof['samples']} samples)", "",
           "| owner (deepest frame in bot/, dialogs/, domain/ or gateway_mocks/) | share |", "|---|---|"]
    out += [f"| {k} | {v:.1%} |" for k, v in sorted(prof["owners"].items(), key=lambda kv: -kv[1])]
    for title, key in (("Where the project's time goes (deepest project frame, library calls below it included)",
                        "top_project"), ("Hottest leaf functions (self time)", "top_self"),
                       ("Inclusive time (on the stack)", "top_inclusive")):
        out += ["", f"{title}:", "", "| function | share |", "|---|---|"]
        out += [f"| `{row['name']}` | {row['share']:.1%} |" for row in prof[key]]
    return out


def _checks(doc: dict[str, Any]) -> list[str]:
    out = ["", "## Nothing lost", "", "| run | citizens | statuses | unexpected | SMS missing from inboxes | errors |",
           "|---|---|---|---|---|---|"]
    for i, run in enumerate(doc["runs"], 1):
        r = run["replay"]
        v = r["verify"]
        statuses = ", ".join(f"{k} {n}" for k, n in sorted(v["statuses"].items()))
        unexpected = ", ".join(f"{k}: {n}" for k, n in v["unexpected"].items()) or "none"
        errors = ", ".join(f"{k}: {n}" for k, n in r["errors"].items()) or "none"
        out.append(f"| {i} | {r['citizens']} | {statuses} | {unexpected} | {v['sms_mismatch']} | {errors} |")
    return out
