"""Test helpers: families, phones and expected texts, over the public HTTP interfaces only."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import logging
import secrets
from collections.abc import Iterator
from typing import Any

from bot.clock import ALMATY, parse_instant
from bot.devclient import DevClient
from bot.i18n import Translator
from gateway_mocks.registry import birth_event, child_iin, disability_event

TRANSLATOR = Translator()
_ids = itertools.count(1)

# Seeded e-government fixtures (gateway_mocks/fixtures.py).
MOTHER_WITH_HALYK = "920412412349"  # account on record: KZ03601KZT0000412345
FATHER_NO_ACCOUNT = "880930324560"
FATHER_FORTE = "850505315614"
VALID_IBAN = "KZ64965KZT0000031234"  # ForteBank, mod-97 correct


def production_secrets() -> dict[str, str]:
    """Fresh random values for every secret `serve` and `worker` insist on (README "Security", "Secrets")."""
    from bot.settings import SECRETS

    return {name: secrets.token_hex(32) for name in SECRETS}


def render(msg_id: str, lang: str, **params: Any) -> str:
    """The exact text the bot sends for a message id."""
    return TRANSLATOR.render(msg_id, lang, **params)


def event_id(prefix: str = "zags") -> str:
    return f"{prefix}-test-{next(_ids):06d}"


async def local_today(client: DevClient) -> dt.date:
    return parse_instant((await client.clock())["now"]).astimezone(ALMATY).date()


async def birth(client: DevClient, *, msisdn: str = "+77011112233", parent_iin: str = MOTHER_WITH_HALYK,
                language: str | None = "kk", children: int = 1, eid: str | None = None,
                child_iins: list[str] | None = None) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Post a birth event now; (status, answer, event)."""
    now = (await client.clock())["now"]
    born = await local_today(client) - dt.timedelta(days=1)
    iins = child_iins or [child_iin(born) for _ in range(children)]
    event = birth_event(eid or event_id(), parent_iin=parent_iin, msisdn=msisdn, language=language,
                        registered_at=now, children=[(i, born) for i in iins])
    status, answer = await client.post_event(event)
    return status, answer, event


async def birth_event_now(client: DevClient, msisdn: str) -> dict[str, Any]:
    """A birth event of yesterday's child, registered now, not yet posted."""
    now = (await client.clock())["now"]
    born = await local_today(client) - dt.timedelta(days=1)
    return birth_event(event_id(), parent_iin=MOTHER_WITH_HALYK, msisdn=msisdn, language="kk", registered_at=now,
                       children=[(child_iin(born), born)])


async def disabled_child(client: DevClient, *, msisdn: str = "+77021112233", language: str | None = "ru",
                         recipient_iin: str = FATHER_FORTE) -> tuple[int, dict[str, Any]]:
    now = (await client.clock())["now"]
    born = dt.date(2018, 3, 3)
    event = disability_event(event_id("mse"), recipient_iin=recipient_iin, msisdn=msisdn, language=language,
                             registered_at=now, person_iin=child_iin(born, "M"), birth_date=born, group=3,
                             since_childhood=False, established_on=await local_today(client))
    return await client.post_event(event)


async def texts(client: DevClient, msisdn: str) -> list[str]:
    return [m["text"] for m in await client.inbox(msisdn)]


@contextlib.contextmanager
def process_log() -> Iterator[io.StringIO]:
    """The process log as `dev` and `serve` write it (bot/logs.py's masked handler on the root logger, at INFO,
    aiohttp's access log in), captured for the length of the block."""
    from bot.logs import masked_handler

    stream = io.StringIO()
    root = logging.getLogger()
    handler = masked_handler(stream)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
