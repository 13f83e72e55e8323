"""`proactive-bot demo`: scripted families on the dev system, each transcript printed as it happened."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from bot.app import redis_client
from bot.clock import ALMATY, parse_instant
from bot.devclient import DevClient
from bot.devserver import start_dev
from bot.http.common import STORE
from bot.ledger import verify
from bot.settings import Settings
from gateway_mocks.registry import birth_event, cancel_event, child_iin, disability_event

START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY)  # a Monday morning in Kazakhstan
HOUR = 3600


@dataclass
class Scene:
    """One family's story: what happens, told through the public HTTP interfaces only."""

    title: str
    msisdn: str
    play: Callable[[DevClient, str], Awaitable[str]]  # returns the dialog id


async def _now(client: DevClient) -> str:
    return str((await client.clock())["now"])


async def _today(client: DevClient) -> dt.date:
    return parse_instant(await _now(client)).astimezone(ALMATY).date()


async def birth_kk(client: DevClient, msisdn: str) -> str:
    born = await _today(client) - dt.timedelta(days=2)
    event = birth_event("zags-demo-1", parent_iin="920412412349", msisdn="8 701 555 10 01", language="kk",
                        registered_at=await _now(client), children=[(child_iin(born), born)])
    _, answer = await client.post_event(event)
    await client.advance(40 * 60)
    await client.phone_says(msisdn, "иә")
    await client.advance(5 * 60)
    await client.phone_says(msisdn, "1")
    await client.advance(2 * HOUR)
    return str(answer["dialog_id"])


async def disabled_child_ru(client: DevClient, msisdn: str) -> str:
    today = await _today(client)
    born = dt.date(2019, 4, 2)
    event = disability_event("mse-demo-2", recipient_iin="850505315614", msisdn="+7 (702) 555-10-02",
                             language="ru", registered_at=await _now(client),
                             person_iin=child_iin(born, "M"), birth_date=born, group=2,
                             since_childhood=False, established_on=today - dt.timedelta(days=1))
    _, answer = await client.post_event(event)
    await client.phone_says(msisdn, "Да, согласна")
    await client.phone_says(msisdn, "2")
    await client.phone_says(msisdn, "kz64 965k zt00 0003 1243")  # a typo: the check digits do not match
    await client.phone_says(msisdn, "kz64 965k zt00 0003 1234")
    await client.advance(2 * HOUR)
    return str(answer["dialog_id"])


async def refusal(client: DevClient, msisdn: str) -> str:
    born = await _today(client) - dt.timedelta(days=1)
    event = birth_event("zags-demo-3", parent_iin="880930324560", msisdn="87055551003", language="ru",
                        registered_at=await _now(client), children=[(child_iin(born, "M"), born)])
    _, answer = await client.post_event(event)
    await client.phone_says(msisdn, "что это?")
    await client.phone_says(msisdn, "нет, не надо")
    return str(answer["dialog_id"])


async def backend_duplicate(client: DevClient, msisdn: str) -> str:
    born = await _today(client) - dt.timedelta(days=3)
    child = child_iin(born)
    event = birth_event("zags-demo-4", parent_iin="871125494512", msisdn="+77075551004", language="kk",
                        registered_at=await _now(client), children=[(child, born)])
    _, answer = await client.post_event(event)
    # Meanwhile the mother applies on egov.kz herself; the backend will see the earlier application.
    await client.egov_person({"iin": "871125494512", "bank_account": "KZ28722KZT0000987654",
                              "children_before": 3,
                              "benefits": [{"service": "birth", "person_iin": child, "state": "applied"}]})
    await client.phone_says(msisdn, "1")
    await client.advance(3 * 60)  # she reads the account question (a copy of "1" within 2 minutes is set aside)
    await client.phone_says(msisdn, "1")
    await client.advance(2 * HOUR)
    return str(answer["dialog_id"])


async def silence(client: DevClient, msisdn: str) -> str:
    born = await _today(client) - dt.timedelta(days=1)
    event = birth_event("zags-demo-5", parent_iin="950214437899", msisdn="+77475551005", language=None,
                        registered_at=await _now(client), children=[(child_iin(born), born)])
    _, answer = await client.post_event(event)
    await client.advance(73 * HOUR)
    await client.phone_says(msisdn, "1")
    return str(answer["dialog_id"])


async def group1_caregiver(client: DevClient, msisdn: str) -> str:
    today = await _today(client)
    event = disability_event("mse-demo-6", recipient_iin="720808483418", msisdn="8 771 555 10 06",
                             language="ru", registered_at=await _now(client), person_iin="061010583424",
                             birth_date=dt.date(2006, 10, 10), group=1, since_childhood=True,
                             established_on=today)
    _, answer = await client.post_event(event)
    await client.phone_says(msisdn, "KZ")
    await client.phone_says(msisdn, "иә")
    await client.phone_says(msisdn, "1")
    await client.advance(2 * HOUR)
    return str(answer["dialog_id"])


async def correction(client: DevClient, msisdn: str) -> str:
    born = await _today(client) - dt.timedelta(days=1)
    event = birth_event("zags-demo-7", parent_iin="680303361217", msisdn="+77785551007", language="kk",
                        registered_at=await _now(client), children=[(child_iin(born, "M"), born)])
    _, answer = await client.post_event(event)
    await client.advance(10 * 60)
    await client.post_event(cancel_event("zags-demo-7-fix", cancels="zags-demo-7",
                                         registered_at=await _now(client)))
    await client.phone_says(msisdn, "1")
    return str(answer["dialog_id"])


async def across_channels(client: DevClient, msisdn: str) -> str:
    # The next morning, so that the decision is not held for quiet hours (the scenes before end at dusk).
    now = parse_instant(await _now(client)).astimezone(ALMATY)
    morning = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(10, 0), ALMATY)
    await client.advance((morning - now).total_seconds())
    born = await _today(client) - dt.timedelta(days=1)
    event = birth_event("zags-demo-8", parent_iin="751201472311", msisdn="8 776 555 10 08", language="ru",
                        registered_at=await _now(client), children=[(child_iin(born), born)])
    _, answer = await client.post_event(event)
    await client.advance(20 * 60)
    await client.ussd(msisdn, "*1414#")  # the offer as a menu (and by SMS: the law names SMS)
    await client.ussd(msisdn, "1")  # consent on USSD; the account question follows on the same screen
    await client.ussd_cut(msisdn)  # the network drops the session
    await client.advance(30 * 60)
    await client.phone_says(msisdn, "1")  # the account confirmed by SMS
    await client.advance(2 * HOUR)
    return str(answer["dialog_id"])


SCENES = [
    Scene("Birth, in Kazakh: consent, account on record confirmed, benefits assigned", "+77015551001", birth_kk),
    Scene("Disabled child, in Russian: another account typed in lower case with spaces (one typo first), "
          "assigned", "+77025551002", disabled_child_ru),
    Scene("Birth, in Russian: \"what is this?\" answered, then a refusal", "+77055551003", refusal),
    Scene("Birth: the mother applied on egov.kz meanwhile; the backend refuses the duplicate",
          "+77075551004", backend_duplicate),
    Scene("Birth, language unknown: silence, a reminder, expiry, a late reply", "+77475551005", silence),
    Scene("Group I since childhood: a language switch, consent, assigned to the caregiver", "+77715551006",
          group1_caregiver),
    Scene("Birth: the registry corrects itself; the offer is withdrawn", "+77785551007", correction),
    Scene("Birth, in Russian, across channels: consent on USSD (*1414#), the account by SMS, the decision by SMS",
          "+77765551008", across_channels),
]


def _local(at: str) -> str:
    return parse_instant(at).astimezone(ALMATY).strftime("%d.%m %H:%M")


async def print_transcript(client: DevClient, title: str, dialog_id: str) -> None:
    dialog = await client.dialog(dialog_id)
    print(f"\n=== {title}")
    print(f"    dialog {dialog['dialog_id']} · {dialog['service']} · phone {dialog['msisdn']} · "
          f"status {dialog['status']}")
    # Each status change is printed right after the message that caused it.
    lines = [(2 * i + 1, line["at"], f"{'citizen' if line['direction'] == 'in' else '   1414'} "
                                     f"[{line['channel']}] {line['text']}".replace("\n", " | "))
             for i, line in enumerate(dialog["transcript"])]
    lines += [(2 * h["after_message"], h["at"], f"        · status {h['from']} -> {h['to']} ({h['trigger']})")
              for h in dialog["history"]]
    for _, at, text in sorted(lines, key=lambda x: x[0]):
        print(f"    {_local(at)} {text}")
    if dialog["consent"]:
        print(f"    consent {dialog['consent']['given_at']}, application date "
              f"{dialog['consent']['application_date']}")
    if dialog["application"]:
        print(f"    application {dialog['application']['id']}, decision due {dialog['application']['decision_due']}")
    if dialog["decision"]:
        print(f"    decision: {dialog['decision']['outcome']} {dialog['decision'].get('reason') or ''}")


async def run_demo() -> int:
    """Play every scene; then check the consent ledger they left (exit 1 if it does not verify).

    With `REDIS_URL` the demo runs on that Redis under a fresh key prefix (printed), which it leaves behind
    so that `proactive-bot ledger verify --prefix …` can be run on it; otherwise on the embedded store.
    """
    redis = redis_client(os.environ["REDIS_URL"]) if os.environ.get("REDIS_URL") else None
    prefix = f"pbdemo-{secrets.token_hex(4)}" if redis is not None else "pb"
    system = await start_dev(port=0, clock_start=START, redis=redis, settings=Settings(key_prefix=prefix))
    try:
        async with aiohttp.ClientSession() as session:
            client = DevClient(session, system.url)
            for scene in SCENES:
                dialog_id = await scene.play(client, scene.msisdn)
                await print_transcript(client, scene.title, dialog_id)
        store = system.runner.app[STORE]
        head, base = await store.ledger_head()
        count, findings = verify(await store.ledger_lines(), head, base)
        where = f" (REDIS_URL, prefix {prefix})" if redis is not None else ""
        print(f"\nconsent ledger{where}: {count} records, "
              f"{'verifies' if not findings else 'BROKEN: ' + '; '.join(findings)}; head {head.hash}")
    finally:
        await system.stop()
        if redis is not None:
            await redis.aclose()
    return 1 if findings else 0
