"""What the state databases said about a person, read defensively: odd data never stops a dialog.

The e-government answer comes from outside: any field may be missing, of the wrong type, or hold a value we
do not know (an account at a bank code our table lacks, a malformed IBAN). A step reads only what
`read_facts` returns; what it could not use is named in `problems` so the dialog is flagged for operators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.iban import IbanError, normalise_iban

MAX_CLAIMS = 100  # more benefit lines than this is not a person's record: the rest is ignored


@dataclass(frozen=True)
class Facts:
    """The usable part of an e-government record."""

    bank_account: str | None = None  # a normalised IBAN at a bank we know, or None
    benefits: list[dict[str, str]] = field(default_factory=list)  # {"service", "person_iin", "state"}, all str
    problems: list[str] = field(default_factory=list)  # what was on record but unusable, as flag names


def usable_account(value: Any) -> str | None:
    """A normalised IBAN at a known bank, or None for anything else (missing, wrong type, malformed, unknown)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return normalise_iban(value)
    except IbanError:
        return None


def read_facts(raw: Any) -> Facts:
    """The usable facts in an e-government answer (or in what a step was given: a dict, None, anything)."""
    if isinstance(raw, Facts):
        return raw
    if not isinstance(raw, dict):
        return Facts()
    problems: list[str] = ["egov_record_unreadable"] if raw.get("record_unreadable") is True else []
    account = raw.get("bank_account")
    iban = usable_account(account)
    if account not in (None, "") and iban is None:
        problems.append("account_on_record_unusable")
    claims = raw.get("benefits")
    benefits: list[dict[str, str]] = []
    if isinstance(claims, list):
        for claim in claims[:MAX_CLAIMS]:
            if isinstance(claim, dict) and all(isinstance(claim.get(k), str)
                                               for k in ("service", "person_iin", "state")):
                benefits.append({k: claim[k] for k in ("service", "person_iin", "state")})
            else:
                problems.append("benefits_on_record_unreadable")
    elif claims is not None:
        problems.append("benefits_on_record_unreadable")
    return Facts(bank_account=iban, benefits=benefits, problems=sorted(set(problems)))
