"""What each service says where the texts differ by case: twins, a birth with one benefit assigned, a refusal."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from bot.i18n import LANGUAGES, Money, Translator
from dialogs.birth import SPEC as BIRTH
from dialogs.spec import SERVICES


class Assigned(NamedTuple):
    label: str
    benefits: list[dict[str, Any]]
    message: str
    absent: dict[str, str]  # words of what was not assigned, by language


ONE_OFF = {"period": "one_off", "amount": 185_000, "person_iin": "a"}
MONTHLY = {"period": "monthly", "amount": 24_912, "person_iin": "a"}
ASSIGNED = [
    Assigned("both benefits: both lines", [ONE_OFF, MONTHLY], "decision.assigned.birth", {}),
    Assigned("only the one-off benefit: no '0 ₸ a month' line", [ONE_OFF], "decision.assigned.birth.one_off",
             {"kk": "айына", "ru": "в месяц"}),
    Assigned("only the monthly benefit: no one-off line", [MONTHLY], "decision.assigned.birth.monthly",
             {"kk": "барлығы", "ru": "всего"}),
]


@pytest.mark.parametrize("case", ASSIGNED, ids=[c.label for c in ASSIGNED])
def test_a_birth_assignment_names_only_what_was_assigned(case: Assigned) -> None:
    params = BIRTH.assigned_params(case.benefits)
    assert BIRTH.assigned_variant is not None and BIRTH.assigned_variant(params) == case.message
    translator = Translator()
    for lang in LANGUAGES:
        text = translator.render(case.message, lang, application_id="PB-1", **params)
        assert "0\xa0₸" not in text.replace("000\xa0₸", "")  # no zero amount
        if lang in case.absent:
            assert case.absent[lang] not in text
        for amount in (Money(b["amount"]) for b in case.benefits):
            assert translator.format_value(amount, lang) in text


@pytest.mark.parametrize(("children", "message"), [(["a"], "consent.ask.birth"),
                                                    (["a", "b"], "consent.ask.birth.twins"),
                                                    (["a", "b", "c"], "consent.ask.birth.twins")])
def test_twins_are_asked_about_as_children(children: list[str], message: str) -> None:
    assert BIRTH.consent_variant is not None and BIRTH.consent_variant(children) == message


def test_every_service_names_its_benefit_for_a_refusal() -> None:
    translator = Translator()
    for spec in SERVICES.values():
        assert spec.benefit == f"benefit.{spec.name}"
        for lang in LANGUAGES:
            refused = translator.render("decision.refused", lang, application_id="PB-1",
                                        reason=translator.render("refusal.not_eligible", lang),
                                        benefit=translator.render(spec.benefit, lang))
            assert translator.render(spec.benefit, lang) in refused
