"""IIN validation, birth date and fixture generation, against hand-computed cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.iin import IinError, iin_birth_date, is_valid_iin, make_iin, validate_iin


@dataclass(frozen=True)
class Valid:
    label: str
    iin: str
    birth_date: date


# Check digits worked by hand, Σ dᵢ·wᵢ mod 11:
# 90031540001 · w 1..11 = 9+12+5+30+28+11 = 95 → 95 mod 11 = 7
# 26111850001 · w 1..11 = 2+12+3+4+5+48+35+11 = 120 → 120 mod 11 = 10
#   → second weights 3,4,5,6,7,8,9,10,11,1,2: 6+24+5+6+7+64+45+2 = 159 → 159 mod 11 = 5
# 88010140001 · w 1..11 = 8+16+4+6+28+11 = 73 → 73 mod 11 = 7
# 15060150001 · w 1..11 = 1+10+24+6+35+11 = 87 → 87 mod 11 = 10
#   → second: 3+20+36+8+45+2 = 114 → 114 mod 11 = 4
# 90031540080 · w 1..11 = 9+12+5+30+28+80 = 164 → 10 → second: 27+18+7+40+36+8 = 136 → 136 mod 11 = 4
# 54060130000 · w 1..11 = 5+8+24+6+21 = 64 → 64 mod 11 = 9
VALID = [
    Valid("contract: recipient, woman born 1990", "900315400017", date(1990, 3, 15)),
    Valid("contract: child, boy born 2026 (second weights)", "261118500015", date(2026, 11, 18)),
    Valid("contract: recipient, woman born 1988", "880101400017", date(1988, 1, 1)),
    Valid("contract: person, boy born 2015 (second weights)", "150601500014", date(2015, 6, 1)),
    Valid("second weights give 4", "900315400804", date(1990, 3, 15)),
    Valid("man born 1954, serial 0000", "540601300009", date(1954, 6, 1)),
    Valid("leap day in 2000s", make_iin(date(2024, 2, 29), "M", 1), date(2024, 2, 29)),
    Valid("19th century digit 1", make_iin(date(1899, 12, 31), "M", 42), date(1899, 12, 31)),
]


@pytest.mark.parametrize("case", VALID, ids=[c.label for c in VALID])
def test_valid_iin(case: Valid) -> None:
    validate_iin(case.iin)
    assert is_valid_iin(case.iin)
    assert iin_birth_date(case.iin) == case.birth_date


@dataclass(frozen=True)
class Invalid:
    label: str
    iin: str
    code: str


INVALID = [
    Invalid("empty", "", "format"),
    Invalid("11 digits", "90031540001", "format"),
    Invalid("13 digits", "9003154000170", "format"),
    Invalid("spaces inside", "900315 400017", "format"),
    Invalid("trailing newline", "900315400017\n", "format"),
    Invalid("letter", "90031540001O", "format"),
    Invalid("Arabic-Indic digits", "٩٠٠٣١٥٤٠٠٠١٧", "format"),
    Invalid("full-width digits", "９００３１５４０００１７", "format"),
    Invalid("month 13", "901315400017", "date"),
    Invalid("day 00", "900300400017", "date"),
    Invalid("30 February", "900230400017", "date"),
    Invalid("29 February 1900 (not a leap year)", "000229300010", "date"),
    Invalid("century digit 0", "900315000017", "century"),
    Invalid("century digit 7", "900315700017", "century"),
    Invalid("century digit 9 before a bad date", "901315900017", "century"),
    Invalid("check digit off by one", "900315400018", "checksum"),
    Invalid("two digits swapped", "900315400071", "checksum"),
    # 90031540083 · w 1..11 = 9+12+5+30+28+80+33 = 197 → 10; second: 27+18+7+40+36+8+6 = 142 → 10
    Invalid("never issued: both weightings give 10", "900315400830", "checksum"),
]


@pytest.mark.parametrize("case", INVALID, ids=[c.label for c in INVALID])
def test_invalid_iin(case: Invalid) -> None:
    with pytest.raises(IinError) as caught:
        validate_iin(case.iin)
    assert caught.value.code == case.code
    assert not is_valid_iin(case.iin)


def test_error_messages_are_plain_english_and_do_not_echo_the_iin() -> None:
    with pytest.raises(IinError, match="IIN must be 12 digits"):
        validate_iin("123")
    with pytest.raises(IinError, match="IIN check digit is wrong") as caught:
        validate_iin("900315400018")
    assert "900315400018" not in str(caught.value)


@dataclass(frozen=True)
class Made:
    label: str
    birth_date: date
    sex: str
    serial: int
    expected: str


MADE = [
    Made("woman 1990, serial 1 is the contract example", date(1990, 3, 15), "F", 1, "900315400017"),
    Made("boy 2026, serial 1 is the contract example", date(2026, 11, 18), "M", 1, "261118500015"),
    # 90031540084: w 1..11 → 208 → 10; second → 144 → 1
    Made("unissuable serial 0083 moves to 0084", date(1990, 3, 15), "F", 83, "900315400841"),
    Made("unissuable serial 9999 wraps to 0000", date(1954, 6, 1), "M", 9999, "540601300009"),
    Made("girl born 2000 gets century digit 6", date(2000, 1, 1), "F", 5, make_iin(date(2000, 1, 1), "F", 5)),
]


@pytest.mark.parametrize("case", MADE, ids=[c.label for c in MADE])
def test_make_iin(case: Made) -> None:
    iin = make_iin(case.birth_date, case.sex, case.serial)
    assert iin == case.expected
    assert is_valid_iin(iin)


@pytest.mark.parametrize(
    ("birth_date", "sex", "digit"),
    [
        (date(1850, 1, 1), "M", "1"),
        (date(1850, 1, 1), "F", "2"),
        (date(1999, 1, 1), "M", "3"),
        (date(1999, 1, 1), "F", "4"),
        (date(2000, 1, 1), "M", "5"),
        (date(2099, 1, 1), "F", "6"),
    ],
    ids=["1800s man", "1800s woman", "1900s man", "1900s woman", "2000s man", "2000s woman"],
)
def test_make_iin_century_and_sex_digit(birth_date: date, sex: str, digit: str) -> None:
    assert make_iin(birth_date, sex, 0)[6] == digit


@pytest.mark.parametrize(
    ("birth_date", "sex", "serial"),
    [
        (date(1990, 1, 1), "X", 1),
        (date(1990, 1, 1), "m", 1),
        (date(1990, 1, 1), "M", -1),
        (date(1990, 1, 1), "M", 10000),
        (date(1799, 12, 31), "M", 1),
        (date(2100, 1, 1), "F", 1),
    ],
    ids=["unknown sex", "lower-case sex", "negative serial", "5-digit serial", "before 1800", "after 2099"],
)
def test_make_iin_refuses_what_an_iin_cannot_encode(birth_date: date, sex: str, serial: int) -> None:
    with pytest.raises(ValueError):
        make_iin(birth_date, sex, serial)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_validate_iin_raises_only_iin_error(text: str) -> None:
    try:
        validate_iin(text)
    except IinError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_validate_iin_raises_only_iin_error_on_digit_strings(text: str) -> None:
    try:
        validate_iin(text)
    except IinError as error:
        assert error.code in {"date", "century", "checksum"}


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from(["M", "F"]),
    st.integers(min_value=0, max_value=9999),
)
def test_make_iin_is_valid_and_round_trips(birth_date: date, sex: str, serial: int) -> None:
    iin = make_iin(birth_date, sex, serial)
    validate_iin(iin)
    assert iin_birth_date(iin) == birth_date
    assert (int(iin[6]) % 2 == 1) == (sex == "M")
