"""Kazakhstan phone numbers in the spellings people and registries use."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.phone import Msisdn, PhoneError, parse_msisdn

SPELLING_TEMPLATES = ["+7{p}{s}", "8{p}{s}", "7{p}{s}", "{p}{s}", "+7 ({p}) {a}-{b}-{c}", "8 {p} {a} {b} {c}"]
MOBILE_PREFIXES = ["700", "701", "702", "705", "706", "707", "708", "747", "771", "775", "776", "777", "778"]


@dataclass(frozen=True)
class Spelling:
    label: str
    text: str
    expected: Msisdn


SPELLINGS = [
    Spelling("trunk 8, spaced", "8 701 123 45 67", Msisdn("+77011234567", mobile=True)),
    Spelling("+7, brackets and dashes", "+7 (701) 123-45-67", Msisdn("+77011234567", mobile=True)),
    Spelling("national ten digits", "7011234567", Msisdn("+77011234567", mobile=True)),
    Spelling("country code without plus", "77011234567", Msisdn("+77011234567", mobile=True)),
    Spelling("E.164", "+77011234567", Msisdn("+77011234567", mobile=True)),
    Spelling("trunk 8, brackets", "8(701)1234567", Msisdn("+77011234567", mobile=True)),
    Spelling("stray spaces", "  8 701  123 45 67 ", Msisdn("+77011234567", mobile=True)),
    Spelling("non-breaking spaces", "+7\u00a0701\u00a0123\u00a045\u00a067", Msisdn("+77011234567", True)),
    Spelling("dots", "8.701.123.45.67", Msisdn("+77011234567", mobile=True)),
    Spelling("full-width digits", "８７０１１２３４５６７", Msisdn("+77011234567", mobile=True)),
    Spelling("contract example, Beeline 777", "+77771234567", Msisdn("+77771234567", mobile=True)),
    Spelling("Astana fixed line 7172", "8 7172 123456", Msisdn("+77172123456", mobile=False)),
    Spelling("Almaty fixed line 727", "+7 727 2123456", Msisdn("+77272123456", mobile=False)),
]


@pytest.mark.parametrize("case", SPELLINGS, ids=[c.label for c in SPELLINGS])
def test_parse_msisdn(case: Spelling) -> None:
    assert parse_msisdn(case.text) == case.expected


@pytest.mark.parametrize("prefix", MOBILE_PREFIXES, ids=MOBILE_PREFIXES)
def test_every_kazakhstan_mobile_range_is_mobile(prefix: str) -> None:
    # phonenumbers 9.x types all of these MOBILE (none FIXED_LINE_OR_MOBILE).
    assert parse_msisdn(f"8 {prefix} 123 45 67") == Msisdn(f"+7{prefix}1234567", mobile=True)


@dataclass(frozen=True)
class Refused:
    label: str
    text: str
    code: str


REFUSED = [
    Refused("empty", "", "format"),
    Refused("only spaces", "   ", "format"),
    Refused("only punctuation", "+()-", "format"),
    Refused("a word", "stop", "format"),
    Refused("too short", "123", "format"),
    Refused("one digit short", "+7701123456", "format"),
    Refused("one digit too many", "870112345678", "format"),
    Refused("unassigned range +7 710", "+77101234567", "format"),
    Refused("letters read as keypad digits", "8 701 FLOWERS", "format"),
    Refused("extension", "+7 701 123 45 67 x 12", "format"),
    Refused("RFC 3966 URI", "tel:+7-701-123-45-67", "format"),
    Refused("Russian mobile +7 916", "+7 916 123 45 67", "not_kazakhstan"),
    Refused("Russian mobile with trunk 8", "8 916 123 45 67", "not_kazakhstan"),
    Refused("Moscow fixed line", "+7 495 123 45 67", "not_kazakhstan"),
    Refused("United States", "+1 202 555 0123", "not_kazakhstan"),
    Refused("Uzbekistan", "+998 90 123 45 67", "not_kazakhstan"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.label for c in REFUSED])
def test_parse_msisdn_refuses(case: Refused) -> None:
    with pytest.raises(PhoneError) as caught:
        parse_msisdn(case.text)
    assert caught.value.code == case.code


def test_msisdn_is_immutable() -> None:
    msisdn = parse_msisdn("+77011234567")
    with pytest.raises(AttributeError):
        msisdn.e164 = "+77771234567"  # type: ignore[misc]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_msisdn_raises_only_phone_error(text: str) -> None:
    try:
        parse_msisdn(text)
    except PhoneError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789+()- ", max_size=30))
def test_parse_msisdn_raises_only_phone_error_on_phone_like_text(text: str) -> None:
    try:
        parse_msisdn(text)
    except PhoneError:
        pass


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(MOBILE_PREFIXES),
    st.integers(min_value=0, max_value=9_999_999),
    st.sampled_from(SPELLING_TEMPLATES),
)
def test_any_mobile_in_any_spelling_normalises(prefix: str, subscriber: int, template: str) -> None:
    s = f"{subscriber:07d}"
    text = template.format(p=prefix, s=s, a=s[:3], b=s[3:5], c=s[5:])
    assert parse_msisdn(text) == Msisdn(f"+7{prefix}{s}", mobile=True)
