"""The `proactive-bot` command: dev, serve, mocks, demo, logs, ledger."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from bot.clock import SimClock, SystemClock, parse_instant
from bot.logs import setup_logging


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _dev(port: int, clock_start: str | None, sms: str = "mock") -> None:
    from bot.devserver import start_dev

    redis = None
    if os.environ.get("REDIS_URL"):
        from bot.app import redis_client

        redis = redis_client(os.environ["REDIS_URL"])
    system = await start_dev(port=port, clock_start=parse_instant(clock_start) if clock_start else None,
                             redis=redis, sms=sms)
    store = "Redis at REDIS_URL" if redis is not None else "embedded in-memory Redis (fakeredis)"
    print(f"proactive-bot dev on {system.url}  (store: {store}; simulated clock at {system.clock.now()})",
          flush=True)
    if system.kannel is not None:
        print(f"  SMS through Kannel: sendsms {system.kannel.sendsms_url}, fake SMSC on port "
              f"{system.kannel.smsc_port}, logs in {system.kannel.directory}", flush=True)
    print(f"  events: POST {system.url}/v1/events (EVENTS_SECRET=dev-secret); operators: "
          f"Bearer dev-operator; phones: {system.url}/mock/phones/<msisdn>/sms", flush=True)
    print(f"  play: open {system.url}/dev (sign in with the operator token dev-operator)", flush=True)
    try:
        await _until_signal()
    finally:
        await system.stop()
        if redis is not None:
            await redis.aclose()


def _refuse(command: str, problem: str) -> NoReturn:
    """One line on stderr and exit status 2: the configuration is wrong, nothing was started."""
    print(f"proactive-bot {command}: {problem}", file=sys.stderr, flush=True)
    raise SystemExit(2)


async def _serve(port: int | None, command: str = "serve") -> None:
    """The production bot; `worker` is the same without the HTTP listener: it does queued work and timers."""
    from bot.app import create_app
    from bot.settings import Settings, weak_secret

    try:
        settings = Settings.from_env()
    except ValueError as error:
        _refuse(command, str(error))
    if not settings.redis_url:
        raise SystemExit(f"proactive-bot {command}: REDIS_URL is required (a real Redis; `dev` embeds one)")
    # Anyone who knows a secret can speak for citizens: never run in production on a guessable one.
    problem = weak_secret(dict(os.environ))
    if problem:
        _refuse(command, f"{problem}: set it to a random secret of at least 32 bytes (openssl rand -hex 32)")
    app = create_app(settings, clock=SystemClock())
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()  # opens Redis and starts the timer poller
    if port is None:
        print(f"proactive-bot worker doing queued work and firing timers (prefix {settings.key_prefix}, "
              f"{settings.worker_concurrency} at once)", flush=True)
    else:
        await web.TCPSite(runner, os.environ.get("HOST", "0.0.0.0"), port).start()
        print(f"proactive-bot serve on port {port}", flush=True)
    try:
        await _until_signal()
    finally:
        await runner.cleanup()


async def _follow_real_time(clock: SimClock) -> None:
    """Standalone mocks face a bot on the real clock: keep the simulated one level with it."""
    while True:
        with contextlib.suppress(ValueError):
            await clock.move_to(SystemClock().now())
        await asyncio.sleep(1)


async def _mocks(port: int, bot_url: str, kannel_smsc: str | None) -> None:
    from gateway_mocks.app import MocksSettings, create_mocks_root
    from gateway_mocks.kannel import KannelPhones

    clock = SimClock()
    try:
        settings = MocksSettings.from_env(os.environ)  # fault injection: MOCK_SMS_FAIL_RATE, …
    except ValueError as error:
        raise SystemExit(f"proactive-bot mocks: {error}") from None
    settings.bot_url = bot_url
    settings.backend_secret = os.environ.get("BACKEND_SECRET", "dev-backend-secret")
    # The gateways sign their posts to the bot with the bot's own gateway secrets.
    settings.sms_gateway_secret = os.environ.get("SMS_GATEWAY_SECRET") or settings.sms_gateway_secret
    settings.ussd_gateway_secret = os.environ.get("USSD_GATEWAY_SECRET") or settings.ussd_gateway_secret
    settings.sign_with_wall_clock = True
    # The Bot API mock must know the bot's token and the secret it sends with each webhook update.
    settings.telegram_token = os.environ.get("TELEGRAM_TOKEN") or settings.telegram_token
    settings.telegram_secret = os.environ.get("TELEGRAM_SECRET") or settings.telegram_secret
    phones = None
    if kannel_smsc:  # the phones are a network on that Kannel's fake SMSC; the bot sends through Kannel
        host, _, smsc_port = kannel_smsc.rpartition(":")
        if not host or not smsc_port.isdigit():
            raise SystemExit(f"proactive-bot mocks: --kannel-smsc must be HOST:PORT, got {kannel_smsc!r}")
        phones = KannelPhones(settings, clock, host, int(smsc_port))
        await phones.connect(seconds=60)
    runner = web.AppRunner(create_mocks_root(settings, clock, sms_gateway=phones), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, os.environ.get("HOST", "0.0.0.0"), port).start()
    print(f"proactive-bot mocks on port {port}, bot at {bot_url}"
          + (f", phones on Kannel's fake SMSC at {kannel_smsc}" if phones else ""), flush=True)
    follower = asyncio.create_task(_follow_real_time(clock))
    try:
        await _until_signal()
    finally:
        follower.cancel()
        await runner.cleanup()
        if phones is not None:
            await phones.close()


async def _logs(args: argparse.Namespace) -> int:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from bot.http.dialogs import PUBLIC_STATUSES
    from bot.logtail import LogFilter, tail
    from bot.store import Store
    from domain.phone import PhoneError, parse_msisdn

    try:
        msisdn = parse_msisdn(args.msisdn).e164 if args.msisdn else None
    except PhoneError as error:
        print(f"proactive-bot logs: --msisdn: {error}", file=sys.stderr)
        return 2
    if args.status and args.status not in PUBLIC_STATUSES:
        print(f"proactive-bot logs: --status must be one of {', '.join(sorted(PUBLIC_STATUSES))}", file=sys.stderr)
        return 2
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    redis = Redis.from_url(args.redis_url)
    work = asyncio.create_task(tail(
        Store(redis, args.prefix), LogFilter(args.dialog, msisdn, args.status), lambda line: print(line, flush=True),
        follow=args.follow, last=args.last, as_json=args.json, colour=colour))
    stop = asyncio.create_task(_until_signal())
    try:
        await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        for task in (work, stop):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    except RedisError as error:
        print(f"proactive-bot logs: Redis at {_shown(args.redis_url)}: {error}", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()
    return 0


def _write_lines(path: str | None, lines: list[str]) -> None:
    """JSON lines to a file, or to stdout without a path."""
    if path is None:
        sys.stdout.writelines(line + "\n" for line in lines)
        return
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(line + "\n" for line in lines)


async def _ledger(args: argparse.Namespace) -> int:
    """`ledger verify` (exit 0: the chain holds; 1: one line per finding), `ledger export`, `ledger trim`."""
    import datetime as dt
    import json

    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from bot.ledger import in_period, verify
    from bot.store import Store

    redis = Redis.from_url(args.redis_url)
    store = Store(redis, args.prefix)
    try:
        if args.action == "verify":
            head, base = await store.ledger_head()
            count, findings = verify(await store.ledger_lines(), head, base)
            for finding in findings:
                print(f"ledger broken: {finding}")
            if not findings:
                print(f"ledger ok: {count} records, seq {base.seq + 1}-{head.seq}, head {head.hash}")
            return 1 if findings else 0
        if args.action == "export":
            start, end = dt.date.fromisoformat(args.from_), dt.date.fromisoformat(args.to)
            _write_lines(args.out, [line for line in await store.ledger_lines()
                                    if in_period(json.loads(line), start, end)])
            return 0
        from bot.settings import Settings

        days = Settings.from_env().ledger_retention_days
        cutoff = SystemClock().now() - dt.timedelta(days=days)
        print(f"ledger: {await store.trim_ledger(cutoff)} records older than {days} days dropped")
        return 0
    except RedisError as error:
        print(f"proactive-bot ledger: Redis at {_shown(args.redis_url)}: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"proactive-bot ledger: {error}", file=sys.stderr)
        return 2
    finally:
        await redis.aclose()



def _shown(url: str) -> str:
    """A Redis URL fit for a message: without the password it may carry (redis://:secret@host)."""
    parsed = urlsplit(url)
    if parsed.password is None:
        return url
    netloc = f"{parsed.username or ''}:***@{parsed.hostname or ''}" + (f":{parsed.port}" if parsed.port else "")
    return urlunsplit(parsed._replace(netloc=netloc))

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="proactive-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="everything in one process: bot, mocks, simulated phones and clock")
    dev.add_argument("--port", type=int, default=8080)
    dev.add_argument("--clock-start", help="ISO 8601 instant with offset (default: now)")
    dev.add_argument("--sms", choices=("mock", "kannel"), default=os.environ.get("DEV_SMS", "mock"),
                     help="the SMS gateway: the aggregator mock (default), or a real Kannel started on free "
                          "loopback ports with the phones on its fake SMSC (needs ./scripts/ensure-kannel)")
    serve = sub.add_parser("serve", help="the bot alone; config from the environment; real Redis and clock")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    mocks = sub.add_parser("mocks", help="the gateway mocks alone")
    mocks.add_argument("--port", type=int, default=8090)
    mocks.add_argument("--bot-url", default=os.environ.get("BOT_URL", "http://127.0.0.1:8080"))
    mocks.add_argument("--kannel-smsc", default=os.environ.get("MOCK_KANNEL_SMSC") or None, metavar="HOST:PORT",
                       help="be the phone network on this Kannel's fake SMSC (the bot then sends through Kannel)")
    sub.add_parser("worker", help="do queued work (events, replies, reports, decisions) and fire due timers; "
                                  "run any number")
    sub.add_parser("demo", help="play scripted dialogs end to end and print the transcripts")
    logs = sub.add_parser("logs", help="the dialog log: recent records, then new ones as they come (--follow)")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing records as they are written")
    logs.add_argument("--dialog", help="one dialog: its whole kept log first")
    logs.add_argument("--msisdn", help="one phone, written any common way")
    logs.add_argument("--status", help="records of dialogs in (or entering) this public status")
    logs.add_argument("--last", type=int, help="how many recent records first (default 20; a dialog's: all)")
    logs.add_argument("--json", action="store_true", help="JSON lines, as stored")
    logs.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    logs.add_argument("--prefix", default=os.environ.get("KEY_PREFIX", "pb"), help="the bot's KEY_PREFIX")
    ledger = sub.add_parser("ledger", help="the consent ledger: verify the chain, export it, trim old records")
    ledger_sub = ledger.add_subparsers(dest="action", required=True)
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    where.add_argument("--prefix", default=os.environ.get("KEY_PREFIX", "pb"), help="the bot's KEY_PREFIX")
    ledger_sub.add_parser("verify", parents=[where], help="check the hash chain; exit 1 naming each record "
                                                          "edited, removed or reordered")
    export = ledger_sub.add_parser("export", parents=[where],
                                   help="JSON lines of the acts made on Kazakhstan days FROM to TO")
    export.add_argument("--from", dest="from_", required=True, help="first day, YYYY-MM-DD (included)")
    export.add_argument("--to", required=True, help="last day, YYYY-MM-DD (included)")
    export.add_argument("--out", help="a file to write (default: stdout)")
    ledger_sub.add_parser("trim", parents=[where],
                          help="drop records older than LEDGER_RETENTION_DAYS (the rest still verifies)")
    args = parser.parse_args(argv)
    setup_logging(os.environ.get("LOG_LEVEL", "WARNING" if args.command in ("demo", "logs", "ledger") else "INFO"))
    if args.command == "dev":
        asyncio.run(_dev(args.port, args.clock_start, args.sms))
    elif args.command == "serve":
        asyncio.run(_serve(args.port))
    elif args.command == "worker":
        asyncio.run(_serve(None, "worker"))
    elif args.command == "mocks":
        asyncio.run(_mocks(args.port, args.bot_url, args.kannel_smsc))
    elif args.command == "logs":
        return asyncio.run(_logs(args))
    elif args.command == "ledger":
        return asyncio.run(_ledger(args))
    else:
        from bot.demo import run_demo

        return asyncio.run(run_demo())
    return 0


if __name__ == "__main__":
    sys.exit(main())
