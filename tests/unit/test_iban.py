"""IBAN normalisation as people type it, and the reason given when it is refused."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schwifty import IBAN

from domain.iban import BANKS, IbanError, bank_code, bank_name, looks_like_iban, normalise_iban

# Check digits from schwifty's generator, cross-checked by plain mod 97 in test_fixture_check_digits.
HALYK = "KZ256010000000001234"
KASPI = "KZ05722KZT0000012345"
NATIONAL_BANK = "KZ86125KZT5004100100"  # the registry example; 125 is not a bank for citizens


def _mod97(iban: str) -> int:
    """ISO 13616 check, written out independently of schwifty."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97


@pytest.mark.parametrize("iban", [HALYK, KASPI, NATIONAL_BANK], ids=["Halyk", "Kaspi", "National Bank"])
def test_fixture_check_digits(iban: str) -> None:
    assert _mod97(iban) == 1
    assert str(IBAN.generate("KZ", bank_code=iban[4:7], account_code=iban[7:])) == iban


@dataclass(frozen=True)
class Typed:
    label: str
    text: str
    expected: str


TYPED = [
    Typed("already clean", HALYK, HALYK),
    Typed("lower case", HALYK.lower(), HALYK),
    Typed("grouped by four", "KZ25 6010 0000 0000 1234", HALYK),
    Typed("dashes, dots and underscores", "KZ25-6010.0000_0000-1234", HALYK),
    Typed("non-breaking and narrow spaces", "KZ25\u00a06010\u202f0000 0000 1234", HALYK),
    Typed("tabs and newline around", "\tKZ256010000000001234\n", HALYK),
    Typed("en dash", "KZ25–6010–0000–0000–1234", HALYK),
    Typed("Cyrillic К in the country code", "КZ256010000000001234", HALYK),
    Typed("Cyrillic к lower case", "кz256010000000001234", HALYK),
    Typed("Cyrillic К and Т in the account", "KZ05722КZТ0000012345", KASPI),
    Typed("Cyrillic lower-case к and т in the account", "kz05722кzт0000012345", KASPI),
    Typed("Cyrillic КЗ as the country code", "КЗ256010000000001234", HALYK),
    Typed("Cyrillic кз lower case, grouped", "кз25 6010 0000 0000 1234", HALYK),
    Typed("Latin K with Cyrillic З", "KЗ256010000000001234", HALYK),
    Typed("full-width characters", "ＫＺ２５６０１０００００００００１２３４", HALYK),
]


@pytest.mark.parametrize("case", TYPED, ids=[c.label for c in TYPED])
def test_normalise_iban(case: Typed) -> None:
    assert normalise_iban(case.text) == case.expected


@dataclass(frozen=True)
class Refused:
    label: str
    text: str
    code: str
    params: dict[str, str] = field(default_factory=dict)


REFUSED = [
    Refused("nothing", "", "empty"),
    Refused("only spaces and dashes", "  - -  ", "empty"),
    Refused("Kazakh Қ is ambiguous", "ҚZ256010000000001234", "characters", {"character": "Қ"}),
    Refused("Cyrillic З is not 3 in the account", "KZ25601000З000001234", "characters", {"character": "З"}),
    Refused("Kazakh І is not a Latin I", "KZ05722KZT00000123І5", "characters", {"character": "І"}),
    Refused("ß is not turned into SS", "KZ25601000000000123ß", "characters", {"character": "ß"}),
    Refused("slash", "KZ25/6010/0000/0000/1234", "characters", {"character": "/"}),
    Refused("emoji", "KZ25 6010 🙂", "characters", {"character": "🙂"}),
    Refused("German IBAN", "DE89370400440532013000", "not_kz"),
    Refused("digits without KZ", "256010000000001234", "not_kz"),
    Refused("a word", "stop", "not_kz"),
    Refused("one character short", HALYK[:-1], "length", {"length": "19"}),
    Refused("one character too many", HALYK + "5", "length", {"length": "21"}),
    Refused("only the country", "KZ", "length", {"length": "2"}),
    Refused("length counted after normalisation", "KZ25 6010 0000", "length", {"length": "12"}),
    Refused("mistyped digit", "KZ256010000000001235", "checksum"),
    Refused("swapped digits", "KZ256010000000002134", "checksum"),
    Refused("letters as check digits", "KZAB6010000000001234", "checksum"),
    Refused("National Bank 125", " kz86 125k zt50-0410 0100 ", "unknown_bank", {"bank_code": "125"}),
    Refused(
        "valid checksum, unknown code",
        str(IBAN.generate("KZ", bank_code="123", account_code="0000000001234")),
        "unknown_bank",
        {"bank_code": "123"},
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.label for c in REFUSED])
def test_normalise_iban_refuses(case: Refused) -> None:
    with pytest.raises(IbanError) as caught:
        normalise_iban(case.text)
    assert caught.value.code == case.code
    assert caught.value.params == case.params


@pytest.mark.parametrize(("code", "name"), sorted(BANKS.items()), ids=sorted(BANKS))
def test_every_bank_in_the_table_is_accepted(code: str, name: str) -> None:
    iban = str(IBAN.generate("KZ", bank_code=code, account_code="KZT0000000042"))
    assert normalise_iban(iban) == iban
    assert bank_code(iban) == code
    assert bank_name(iban) == name


def test_bank_names_are_current_not_schwiftys() -> None:
    assert bank_name("KZ" + "00" + "998" + "0" * 13) == "Jusan Bank"
    assert bank_name("KZ" + "00" + "914" + "0" * 13) == "Bereke Bank"
    assert len(BANKS) >= 12


def test_bank_name_of_an_unknown_code() -> None:
    with pytest.raises(IbanError) as caught:
        bank_name(NATIONAL_BANK)
    assert caught.value.params == {"bank_code": "125"}


@dataclass(frozen=True)
class Reply:
    label: str
    text: str
    expected: bool


REPLIES = [
    Reply("menu choice 1", "1", False),
    Reply("menu choice 2", "2", False),
    Reply("ru yes", "да", False),
    Reply("kk yes", "иә", False),
    Reply("ru no", "нет", False),
    Reply("stop", "stop", False),
    Reply("language code", "ru", False),
    Reply("empty", "", False),
    Reply("abbreviation кз alone", "кз", False),
    Reply("a phone number", "+7 701 123 45 67", False),
    Reply("a sentence", "I do not have a bank account yet", False),
    Reply("valid IBAN", HALYK, True),
    Reply("grouped IBAN", "KZ25 6010 0000 0000 1234", True),
    Reply("short attempt", "KZ25", True),
    Reply("Cyrillic КZ", "КZ25 6010", True),
    Reply("Cyrillic кз", "кз25 6010", True),
    Reply("Kazakh ҚZ", "ҚZ256010000000001234", True),
    Reply("IBAN without KZ", "25 6010 0000 0000 1234", True),
    Reply("digits with a few letters", "256010000KZT001234", True),
]


@pytest.mark.parametrize("case", REPLIES, ids=[c.label for c in REPLIES])
def test_looks_like_iban(case: Reply) -> None:
    assert looks_like_iban(case.text) is case.expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalise_iban_raises_only_iban_error(text: str) -> None:
    try:
        normalise_iban(text)
    except IbanError:
        pass
    looks_like_iban(text)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(BANKS)),
    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=13, max_size=13),
    st.sampled_from([" ", "-", "", "\u00a0"]),
    st.booleans(),
)
def test_any_valid_iban_survives_spacing_and_case(code: str, account: str, sep: str, lower: bool) -> None:
    iban = str(IBAN.generate("KZ", bank_code=code, account_code=account))
    typed = sep.join(iban[i : i + 4] for i in range(0, len(iban), 4))
    typed = typed.lower() if lower else typed
    assert normalise_iban(typed) == iban
    assert looks_like_iban(typed)
