"""Faults injected into the SMS gateway mock for chaos tests: refused sends, lost deliveries, their counters."""

from __future__ import annotations

from typing import Any

import pytest

from bot.clock import SimClock, parse_instant
from gateway_mocks.common import Outbound
from gateway_mocks.settings import MocksSettings
from gateway_mocks.sms import SmsGateway, Unavailable
from tests.unit import test_mocks
from tests.unit.test_mocks import PHONE, START, World

world = test_mocks.world  # the same fixture: every mock under /mock beside a fake bot that records posts

NO_FAULTS = {"fail_rate": 0.0, "delivery_fail_rate": 0.0, "seed": None}
NOTHING_YET = {"accepted": 0, "duplicates_dropped": 0, "failed_sends": 0, "delivery_failed": 0, "delivered": 0}


def sms(client_id: str, text: str = "Reply 1 to agree") -> dict[str, str]:
    return {"client_id": client_id, "to": PHONE, "text": text}


async def faults(world: World, **body: Any) -> None:
    status, answer = await world.post("/mock/sms/faults", body)
    assert status == 200, answer


async def test_faults_are_off_by_default_and_changed_field_by_field(world: World) -> None:
    assert await world.get("/mock/sms/faults") == (200, NO_FAULTS)
    assert await world.get("/mock/sms/stats") == (200, NOTHING_YET)
    assert await world.post("/mock/sms/faults", {"fail_rate": 0.2, "seed": 7}) == (
        200, {"fail_rate": 0.2, "delivery_fail_rate": 0.0, "seed": 7},
    )  # fmt: skip
    assert await world.post("/mock/sms/faults", {"delivery_fail_rate": 1}) == (
        200, {"fail_rate": 0.2, "delivery_fail_rate": 1.0, "seed": 7},
    )  # fmt: skip
    assert await world.get("/mock/sms/faults") == (200, {"fail_rate": 0.2, "delivery_fail_rate": 1.0, "seed": 7})


async def test_a_refused_send_is_not_kept_and_the_same_client_id_then_goes_through_once(world: World) -> None:
    await faults(world, fail_rate=1.0)
    assert await world.post("/mock/sms/send", sms("consent-ask-1")) == (503, {"error": "unavailable"})
    await world.gateway.flush()
    assert (world.gateway.inbox(PHONE), world.gateway.sent_count, world.bot.statuses) == ([], 0, [])

    await faults(world, fail_rate=0.0)
    first, second = await world.post("/mock/sms/send", sms("consent-ask-1")), await world.post(
        "/mock/sms/send", sms("consent-ask-1")
    )
    assert (first, second) == ((202, {"message_id": "gw-out-1"}), (200, {"message_id": "gw-out-1"}))
    await world.gateway.flush()
    assert [m["id"] for m in world.gateway.inbox(PHONE)] == ["gw-out-1"]
    assert world.bot.statuses == [
        {"message_id": "gw-out-1", "client_id": "consent-ask-1", "status": "delivered", "at": START}
    ]
    assert await world.get("/mock/sms/stats") == (
        200, {"accepted": 1, "duplicates_dropped": 1, "failed_sends": 1, "delivery_failed": 0, "delivered": 1},
    )  # fmt: skip


async def test_with_fail_rate_1_every_send_is_503_repeats_included(world: World) -> None:
    assert (await world.post("/mock/sms/send", sms("before")))[0] == 202
    await faults(world, fail_rate=1.0)
    answers = [await world.post("/mock/sms/send", sms(f"c-{i}")) for i in range(20)]
    answers.append(await world.post("/mock/sms/send", sms("before")))  # a gateway that is down refuses repeats
    assert answers == [(503, {"error": "unavailable"})] * 21
    await world.gateway.flush()
    assert [m["text"] for m in world.gateway.inbox(PHONE)] == ["Reply 1 to agree"]
    assert len(world.bot.statuses) == 1
    _, stats = await world.get("/mock/sms/stats")
    assert (stats["accepted"], stats["failed_sends"], stats["duplicates_dropped"]) == (1, 21, 0)


async def test_a_bad_body_is_422_even_while_the_gateway_fails(world: World) -> None:
    await faults(world, fail_rate=1.0)
    status, body = await world.post("/mock/sms/send", {"client_id": "c-1", "to": PHONE})
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["text"])
    assert (await world.get("/mock/sms/stats"))[1]["failed_sends"] == 0


async def test_a_lost_delivery_is_reported_failed_and_never_reaches_the_inbox(world: World) -> None:
    await faults(world, delivery_fail_rate=1.0)
    assert await world.post("/mock/sms/send", sms("c-1")) == (202, {"message_id": "gw-out-1"})
    assert await world.post("/mock/sms/send", sms("c-1")) == (200, {"message_id": "gw-out-1"})
    await world.gateway.flush()
    assert await world.get("/mock/phones/77011234567/sms") == (200, [])
    assert world.bot.statuses == [{"message_id": "gw-out-1", "client_id": "c-1", "status": "failed", "at": START}]

    # A phone switched off fails as before; both count as failed deliveries, and the rest are delivered.
    await faults(world, delivery_fail_rate=0.0)
    await world.post("/mock/phones/77011234567/state", {"reachable": False})
    await world.post("/mock/sms/send", sms("c-2"))
    await world.post("/mock/phones/77011234567/state", {"reachable": True})
    await world.post("/mock/sms/send", sms("c-3", "hello"))
    await world.gateway.flush()
    assert [r["status"] for r in world.bot.statuses] == ["failed", "failed", "delivered"]
    assert await world.get("/mock/phones/77011234567/sms") == (
        200, [{"id": "gw-out-3", "from": "1414", "text": "hello", "encoding": "GSM7", "segments": 1, "at": START}],
    )  # fmt: skip
    assert await world.get("/mock/sms/stats") == (
        200, {"accepted": 3, "duplicates_dropped": 1, "failed_sends": 0, "delivery_failed": 2, "delivered": 1},
    )  # fmt: skip


async def outcomes(world: World, prefix: str, count: int) -> list[str]:
    """What became of `count` new sends: "503", or the delivery report's status."""
    answers = [await world.post("/mock/sms/send", sms(f"{prefix}-{i}")) for i in range(count)]
    await world.gateway.flush()
    reports = {r["message_id"]: r["status"] for r in world.bot.statuses}
    return [str(s) if s != 202 else reports[a["message_id"]] for s, a in answers]


async def test_a_seed_makes_the_faults_reproducible(world: World) -> None:
    await faults(world, fail_rate=0.3, delivery_fail_rate=0.3, seed=7)
    first = await outcomes(world, "a", 60)
    assert set(first) == {"503", "delivered", "failed"}
    await faults(world, seed=7)  # the same seed starts the same draws again
    assert await outcomes(world, "b", 60) == first
    await faults(world, seed=8)
    assert await outcomes(world, "c", 60) != first

    # A gateway built with the same settings makes the same draws: a run started with the seed is replayed.
    settings = MocksSettings(sms_fail_rate=0.3, sms_delivery_fail_rate=0.3, fault_seed=7)
    gateway = SmsGateway(settings, SimClock(parse_instant(START)), Outbound())
    replay = []
    for i in range(60):
        try:
            message_id, _ = gateway.send(f"d-{i}", PHONE, "1414", "Reply 1 to agree")
        except Unavailable:
            replay.append("503")
        else:
            replay.append(next(s["status"] for s in gateway.sent if s["message_id"] == message_id))
    await gateway.flush()  # the reports fail to post (no app running), which is logged only
    assert replay == first


async def test_a_fail_rate_of_a_fifth_fails_about_a_fifth(world: World) -> None:
    await faults(world, fail_rate=0.2, seed=1)
    results = await outcomes(world, "c", 500)
    assert 60 <= results.count("503") <= 140
    _, stats = await world.get("/mock/sms/stats")
    assert stats["failed_sends"] == results.count("503") and stats["accepted"] == 500 - results.count("503")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param({"fail_rate": 1.5}, ["fail_rate"], id="rate above 1"),
        pytest.param({"fail_rate": -0.1}, ["fail_rate"], id="negative rate"),
        pytest.param({"fail_rate": "0.2"}, ["fail_rate"], id="rate as a string"),
        pytest.param({"fail_rate": True}, ["fail_rate"], id="rate as a boolean"),
        pytest.param({"fail_rate": None}, ["fail_rate"], id="rate null"),
        pytest.param({"delivery_fail_rate": 2}, ["delivery_fail_rate"], id="delivery rate above 1"),
        pytest.param({"seed": "7"}, ["seed"], id="seed as a string"),
        pytest.param({"seed": 7.5}, ["seed"], id="seed not whole"),
        pytest.param({"seed": False}, ["seed"], id="seed as a boolean"),
        pytest.param({"failrate": 0.2}, ["failrate"], id="a misspelt field"),
        pytest.param({"fail_rate": 0.5, "delivery_fail_rate": [0.1], "seed": "x"},
                     ["delivery_fail_rate", "seed"], id="every problem listed"),
    ],
)  # fmt: skip
async def test_bad_fault_values_are_422_naming_the_field_and_change_nothing(
    world: World, body: dict[str, Any], fields: list[str]
) -> None:
    await faults(world, fail_rate=0.1, seed=3)
    status, answer = await world.post("/mock/sms/faults", body)
    assert status == 422
    assert [e["field"] for e in answer["errors"]] == fields
    assert all(e["code"] and e["message"] for e in answer["errors"])
    assert await world.get("/mock/sms/faults") == (200, {"fail_rate": 0.1, "delivery_fail_rate": 0.0, "seed": 3})


async def test_a_fault_body_that_is_not_an_object_is_422(world: World) -> None:
    status, answer = await world.post("/mock/sms/faults", [0.2])
    assert (status, [e["field"] for e in answer["errors"]]) == (422, [""])


async def test_a_null_seed_unseeds_the_draws(world: World) -> None:
    await faults(world, seed=7)
    assert await world.post("/mock/sms/faults", {"seed": None}) == (200, NO_FAULTS)


# Settings from the environment (`proactive-bot mocks`) -------------------------------------------------


def test_from_env_gives_the_defaults_when_nothing_is_set() -> None:
    assert MocksSettings.from_env({}) == MocksSettings()
    assert MocksSettings.from_env({"MOCK_SMS_FAIL_RATE": "", "MOCK_FAULT_SEED": " "}) == MocksSettings()


def test_from_env_reads_the_faults() -> None:
    env = {"MOCK_SMS_FAIL_RATE": "0.2", "MOCK_SMS_DELIVERY_FAIL_RATE": " 0.05 ", "MOCK_FAULT_SEED": "-7"}
    settings = MocksSettings.from_env(env)
    assert (settings.sms_fail_rate, settings.sms_delivery_fail_rate, settings.fault_seed) == (0.2, 0.05, -7)
    assert settings.bot_url == MocksSettings().bot_url  # everything else is the default


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MOCK_SMS_FAIL_RATE", "abc"), ("MOCK_SMS_FAIL_RATE", "1.5"), ("MOCK_SMS_FAIL_RATE", "20%"),
        ("MOCK_SMS_FAIL_RATE", "nan"), ("MOCK_SMS_DELIVERY_FAIL_RATE", "-0.1"),
        ("MOCK_SMS_DELIVERY_FAIL_RATE", "inf"), ("MOCK_FAULT_SEED", "7.5"), ("MOCK_FAULT_SEED", "seven"),
    ],
)  # fmt: skip
def test_from_env_refuses_a_bad_value_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name) as caught:
        MocksSettings.from_env({name: value})
    assert repr(value) in str(caught.value)


def test_settings_refuse_a_rate_outside_0_to_1() -> None:
    with pytest.raises(ValueError, match="sms_fail_rate"):
        MocksSettings(sms_fail_rate=20)
