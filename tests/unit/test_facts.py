"""E-government facts read defensively: what is usable is kept, what is not is named for operators."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from dialogs.facts import Facts, read_facts, usable_account

HALYK = "KZ03601KZT0000412345"


@dataclass
class Case:
    label: str
    raw: Any
    account: str | None = None
    benefits: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


CLAIM = {"service": "birth", "person_iin": "261118500015", "state": "paid"}
CASES = [
    Case("a usable account, spaced and lower-case", {"bank_account": "kz03 601k zt00 0041 2345"}, HALYK),
    Case("no account on record", {"bank_account": None}),
    Case("an empty account", {"bank_account": ""}),
    Case("an account at a bank code we do not know", {"bank_account": "KZ64999KZT0000012345"},
         problems=["account_on_record_unusable"]),
    Case("a malformed account", {"bank_account": "KZ00BAD"}, problems=["account_on_record_unusable"]),
    Case("an account as a number", {"bank_account": 123}, problems=["account_on_record_unusable"]),
    Case("an account as a list", {"bank_account": [HALYK]}, problems=["account_on_record_unusable"]),
    Case("a megabyte of account", {"bank_account": "KZ" * 500_000}, problems=["account_on_record_unusable"]),
    Case("benefit lines kept", {"benefits": [CLAIM, {**CLAIM, "extra": 1}]}, benefits=[CLAIM, CLAIM]),
    Case("benefits as text", {"benefits": "paid"}, problems=["benefits_on_record_unreadable"]),
    Case("benefit lines of the wrong shape, the good one kept", {"benefits": [CLAIM, None, {"service": 1}]},
         benefits=[CLAIM], problems=["benefits_on_record_unreadable"]),
    Case("a record that is a list", [CLAIM]),
    Case("no record at all", None),
    Case("the e-government client could not read the answer", {"record_unreadable": True},
         problems=["egov_record_unreadable"]),
    Case("both odd at once", {"bank_account": 1, "benefits": 2},
         problems=["account_on_record_unusable", "benefits_on_record_unreadable"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_read_facts(case: Case) -> None:
    facts = read_facts(case.raw)
    assert (facts.bank_account, facts.benefits, facts.problems) == (case.account, case.benefits, case.problems)
    assert read_facts(facts) is facts  # reading twice changes nothing


def test_an_account_is_usable_only_when_it_is_a_valid_iban_at_a_known_bank() -> None:
    assert usable_account(HALYK) == HALYK
    assert usable_account("KZ64999KZT0000012345") is None
    assert read_facts({"benefits": [CLAIM] * 500}).benefits == [CLAIM] * 100
    assert Facts().problems == []
