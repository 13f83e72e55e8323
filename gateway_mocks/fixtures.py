"""Seeded e-government records: one person per situation the dialogs and the backend must handle."""

from __future__ import annotations

from typing import Any

# Every IIN is valid (birth date, century/sex digit and check digit agree; tests check it), and none
# is an example from CONTRACT.md. Every IBAN has valid mod-97 check digits and a real bank code.
FIXTURES: list[dict[str, Any]] = [
    # A mother with a Halyk Bank account on record: the birth dialog asks her to confirm it (1 / 2).
    {"iin": "920412412349", "bank_account": "KZ03601KZT0000412345"},
    # A father with no account on record: the birth dialog asks him to type an IBAN.
    {"iin": "880930324560", "bank_account": None},
    # A mother whose birth benefit for child 261110640428 was already applied for on egov.kz:
    # an event for that child ends as `already_applied` (no SMS); the backend would refuse a duplicate.
    {
        "iin": "950214437899",
        "bank_account": "KZ79722KZT0000951234",
        "benefits": [{"service": "birth", "person_iin": "261110640428", "state": "applied"}],
    },
    # A mother of three earlier children: a new child is her 4th, so 63 MCI one-off and the 4th-child
    # monthly rate (twins: 4th and 5th).
    {"iin": "871125494512", "bank_account": "KZ28722KZT0000987654", "children_before": 3},
    # A father raising a child whose disability was just established (disabled_child), ForteBank account.
    {"iin": "850505315614", "bank_account": "KZ35965KZT0000156789"},
    # group1_since_childhood, the plain case: caregiver and person in the same district → assigned.
    {
        "iin": "720808483418",
        "bank_account": "KZ58856KZT0000834567",
        "address": {"region": "Astana", "district": "Yesil"},
    },
    {"iin": "061010583424", "address": {"region": "Astana", "district": "Yesil"}},
    # A guardian of a group I person whose caregiver changed 3 times this year → refused caregiver_changed.
    {"iin": "700605453111", "bank_account": "KZ69601KZT0000700605"},
    {"iin": "030120553120", "caregiver_changes_this_year": 3},
    # A caregiver of a person who already has an individual social assistant → refused social_assistant.
    {"iin": "680303361217", "bank_account": None},
    {"iin": "010707661224", "has_social_assistant": True},
    # A caregiver in Almaty and the person in Almaty region → refused different_district.
    {
        "iin": "751201472311",
        "bank_account": "KZ55856KZT0000751201",
        "address": {"region": "Almaty", "district": "Bostandyk"},
    },
    {"iin": "040515572324", "address": {"region": "Almaty region", "district": "Talgar"}},
]

# (IIN, who, bank account on record, what it demonstrates) — rendered as FIXTURES_TABLE for the README.
_TABLE_ROWS = [
    ("`920412412349`", "mother (1992)", "Halyk Bank `KZ03601KZT0000412345`", "birth: confirm the account"),
    ("`880930324560`", "father (1988)", "none", "birth: the citizen types an IBAN"),
    (
        "`950214437899`",
        "mother (1995)",
        "Kaspi Bank",
        "birth benefit for child `261110640428` already applied for on egov.kz: `already_applied`; "
        "the backend refuses it `already_assigned`",
    ),
    (
        "`871125494512`",
        "mother of 3 (1987), `children_before = 3`",
        "Kaspi Bank",
        "the new child is her 4th: higher one-off and monthly rates (twins: 4th and 5th)",
    ),
    ("`850505315614`", "father (1985)", "ForteBank", "disabled_child: assigned"),
    (
        "`720808483418` → `061010583424`",
        "caregiver (1972) → group I person (2006), both Astana, Yesil",
        "Bank CenterCredit",
        "group1_since_childhood: assigned",
    ),
    (
        "`700605453111` → `030120553120`",
        "guardian (1970) → group I person (2003), `caregiver_changes_this_year = 3`",
        "Halyk Bank",
        "refused `caregiver_changed`",
    ),
    (
        "`680303361217` → `010707661224`",
        "caregiver (1968) → group I person (2001), `has_social_assistant`",
        "none",
        "refused `social_assistant`",
    ),
    (
        "`751201472311` → `040515572324`",
        "caregiver in Almaty, Bostandyk → person in Almaty region, Talgar",
        "Bank CenterCredit",
        "refused `different_district`",
    ),
]

FIXTURES_TABLE = (
    "\n".join(
        [
            "| IIN | who | bank account on record | what it demonstrates |",
            "|---|---|---|---|",
            *("| " + " | ".join(row) + " |" for row in _TABLE_ROWS),
        ]
    )
    + "\n"
)
