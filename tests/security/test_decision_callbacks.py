"""Forged and malformed decision callbacks: another dialog's application, bad amounts, unknown reasons."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from bot.http.common import STORE
from tests.conftest import Running
from tests.helpers import render, texts
from tests.integration.test_rules import PHONE, post_decision, stop_deciding, submit_birth

OTHER_PHONE = "+77015550177"


@dataclass(frozen=True)
class Bad:
    label: str
    change: dict[str, Any]
    field: str


def _benefit(amount: Any) -> list[dict[str, Any]]:
    return [{"kind": "birth_one_off", "amount": amount, "period": "one_off", "person_iin": "x"}]


BAD = [
    Bad("a negative amount", {"benefits": _benefit(-164350)}, "benefits"),
    Bad("a zero amount", {"benefits": _benefit(0)}, "benefits"),
    Bad("a boolean amount", {"benefits": _benefit(True)}, "benefits"),
    Bad("a float amount", {"benefits": _benefit(164350.5)}, "benefits"),
    Bad("a string amount", {"benefits": _benefit("164350")}, "benefits"),
    Bad("an amount past any benefit", {"benefits": _benefit(10**15)}, "benefits"),
    Bad("benefits not a list", {"benefits": {"amount": 1}}, "benefits"),
    Bad("a hundred benefits", {"benefits": _benefit(1) * 100}, "benefits"),
    Bad("an application id with a newline", {"application_id": "PB-1\nforged"}, "application_id"),
    Bad("an application id of 500 characters", {"application_id": "P" * 500}, "application_id"),
    Bad("an application id that is a number", {"application_id": 123}, "application_id"),
    Bad("a client id that is not a dialog id", {"client_id": "../../etc"}, "client_id"),
    Bad("a reason that is not a code", {"reason": "\u001b[2J"}, "reason"),
    Bad("a reason that is an object", {"reason": {"code": "x"}}, "reason"),
    Bad("a decision_due that is a number", {"decision_due": 20261201}, "decision_due"),
    Bad("a decided_at that is not an instant", {"decided_at": "yesterday\r\n"}, "decided_at"),
]


async def _state(run: Running, dialog_id: str, phone: str = PHONE) -> tuple[Any, ...]:
    dialog = await run.client.dialog(dialog_id)
    return (dialog["status"], dialog["decision"], dialog["application"], dialog["flags"], len(dialog["transcript"]),
            await texts(run.client, phone))


@pytest.fixture
async def submitted(real: Running) -> dict[str, Any]:
    dialog = await submit_birth(real.client)
    stop_deciding(real, dialog["dialog_id"])
    await real.system.gateway.flush()
    return dialog


@pytest.mark.parametrize("case", BAD, ids=[c.label for c in BAD])
async def test_a_malformed_callback_is_a_422_and_decides_nothing(real: Running, submitted: dict[str, Any],
                                                                 case: Bad) -> None:
    dialog_id = submitted["dialog_id"]
    before = await _state(real, dialog_id)
    payload = {"application_id": submitted["application"]["id"], "client_id": dialog_id, "outcome": "assigned",
               "benefits": _benefit(164350), "reason": None, "decision_due": None, **case.change}
    status, answer = await post_decision(real, payload)
    assert status == 422, answer
    assert [e["field"] for e in answer["errors"]] == [case.field]
    assert await _state(real, dialog_id) == before


async def test_an_unknown_application_never_falls_back_to_a_dialog_with_another(real: Running,
                                                                              submitted: dict[str, Any]) -> None:
    """The attack: a signed callback for an application nobody has, naming a real dialog by client_id."""
    dialog_id = submitted["dialog_id"]
    before = await _state(real, dialog_id)
    payload = {"application_id": "PB-2026-9999999", "client_id": dialog_id, "outcome": "refused",
               "benefits": [], "reason": "not_eligible", "decision_due": None}
    status, answer = await post_decision(real, payload)
    assert status == 404 and answer["errors"][0]["field"] == "application_id"
    assert await _state(real, dialog_id) == before


async def test_a_callback_that_overtook_our_record_of_the_submission_still_decides(real: Running,
                                                                                 submitted: dict[str, Any]) -> None:
    """The one legitimate use of client_id: the dialog is submitted and has no application id yet."""
    dialog_id = submitted["dialog_id"]
    store = real.system.runner.app[STORE]
    dialog = await store.load(dialog_id)
    assert dialog is not None
    timers = copy.deepcopy(dialog.timers)
    dialog.application = None  # as if we stopped between the backend's answer and our save
    await store.save(dialog, timers)
    payload = {"application_id": "PB-2026-0000777", "client_id": dialog_id, "outcome": "assigned",
               "benefits": _benefit(164350), "reason": None, "decision_due": None}
    status, answer = await post_decision(real, payload)
    assert status == 202 and answer["status"] == "assigned", answer
    assert (await real.client.dialog(dialog_id))["application"]["id"] == "PB-2026-0000777"


@pytest.mark.parametrize("outcome", ["refused", "extended"])
async def test_an_unknown_reason_gets_the_generic_text_and_a_flag(real: Running, submitted: dict[str, Any],
                                                                  outcome: str) -> None:
    dialog_id = submitted["dialog_id"]
    application_id = submitted["application"]["id"]
    payload = {"application_id": application_id, "client_id": dialog_id, "outcome": outcome, "benefits": [],
               "reason": "no_such_reason_code", "decision_due": None}
    status, answer = await post_decision(real, payload)
    assert status == 202, answer
    dialog = await real.client.dialog(dialog_id)
    assert "unknown_reason" in dialog["flags"]
    last = (await texts(real.client, PHONE))[-1]
    if outcome == "refused":
        assert dialog["status"] == "refused"
        assert application_id in last and render("refusal.other", "kk") in last
    else:
        assert dialog["status"] == "submitted"
        assert render("extension.other", "kk") in last
    store = real.system.runner.app[STORE]
    assert await real.redis.xlen(store.keys.dead_letters()) == 0  # done the first time: no retry, no dead letter


async def test_a_known_reason_raises_no_flag(real: Running, submitted: dict[str, Any]) -> None:
    payload = {"application_id": submitted["application"]["id"], "client_id": submitted["dialog_id"],
               "outcome": "refused", "benefits": [], "reason": "different_district", "decision_due": None}
    assert (await post_decision(real, payload))[0] == 202
    dialog = await real.client.dialog(submitted["dialog_id"])
    assert dialog["status"] == "refused" and "unknown_reason" not in dialog["flags"]
