"""Personal data the parsers accept is masked in every spelling they accept, and never left in the access log."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.iban import normalise_iban
from domain.iin import normalise_iin, validate_iin
from domain.masking import mask_query_values, scrub
from domain.phone import parse_msisdn
from tests.conftest import Running
from tests.helpers import FATHER_NO_ACCOUNT, VALID_IBAN, birth
from tests.helpers import process_log as captured_process_log

IBAN = VALID_IBAN  # KZ64965KZT0000031234, ForteBank
IIN = "900315400017"
PHONE = "+77011234567"


@dataclass(frozen=True)
class Spelling:
    label: str
    text: str
    expected: str


IBAN_MASK = "KZ** **** **** **** 1234"
IIN_MASK = "9003******17"
PHONE_MASK = "+7701***4567"
SPELLINGS = [
    Spelling("IBAN with dots", "KZ64.965K.ZT00.0003.1234", IBAN_MASK),
    Spelling("IBAN with slashes", "KZ64/965K/ZT00/0003/1234", IBAN_MASK),
    Spelling("IBAN with underscores", "KZ64_965K_ZT00_0003_1234", IBAN_MASK),
    Spelling("IBAN with en dashes", "KZ64–965K–ZT00–0003–1234", IBAN_MASK),
    Spelling("IBAN in full-width characters", "ＫＺ６４９６５ＫＺＴ０００００３１２３４", IBAN_MASK),
    Spelling("IBAN with Cyrillic look-alikes", "КZ64965КZТ0000031234", IBAN_MASK),
    Spelling("IBAN with a Cyrillic К only", "КZ64965KZT0000031234", IBAN_MASK),
    Spelling("IBAN with a dot and a space between groups", "KZ64. 965K. ZT00. 0003. 1234", IBAN_MASK),
    Spelling("IIN with spaces", "9003 1540 0017", IIN_MASK),
    Spelling("IIN in two halves", "900315 400017", IIN_MASK),
    Spelling("IIN with dashes", "900315-400017", IIN_MASK),
    Spelling("IIN in threes", "900 315 400 017", IIN_MASK),
    Spelling("IIN with dots", "900.315.400.017", IIN_MASK),
    Spelling("IIN in full-width digits", "９００３１５４０００１７", IIN_MASK),
    Spelling("IIN with non-breaking spaces", "900315\u00a0400017", IIN_MASK),
    Spelling("phone in full-width digits", "＋７ ７０１ １２３ ４５ ６７", PHONE_MASK),
    Spelling("phone with dots", "8.701.123.45.67", PHONE_MASK),
    Spelling("phone with spaced dashes", "+7 (701) - 123 - 45 - 67", PHONE_MASK),
    Spelling("phone with non-breaking spaces", "+7\u00a0701\u00a0123\u00a045\u00a067", PHONE_MASK),
    Spelling("phone in brackets without spaces", "8(701)1234567", PHONE_MASK),
]


@pytest.mark.parametrize("case", SPELLINGS, ids=[c.label for c in SPELLINGS])
def test_every_spelling_the_parsers_accept_is_masked(case: Spelling) -> None:
    # The parser accepts it (or, for the slash, masking is stricter than the parser) ...
    if case.expected == IBAN_MASK and "/" not in case.text:
        assert normalise_iban(case.text) == IBAN
    if case.expected == IIN_MASK:
        assert normalise_iin(case.text) == IIN and validate_iin(normalise_iin(case.text)) is None
    if case.expected == PHONE_MASK:
        assert parse_msisdn(case.text).e164 == PHONE
    # ... and masking hides it, inside a sentence too.
    assert scrub(case.text) == case.expected
    assert scrub(f"мой номер: {case.text}, спасибо") == f"мой номер: {case.expected}, спасибо"


NOT_PERSONAL = [
    "d_1234-5678-9012-3456",  # a dialog id whose hex digits happen to be all decimal
    "d_1234-5678-9012-3456-12",  # its client id
    "paid 85 000 ₸ of 700 000 ₸",
    "2026-11-20T13:02:11+05:00",
    "2026-11-23 10:00:00",
]


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_what_is_not_personal_data_stays(text: str) -> None:
    assert scrub(text) == text


_IBAN_SEPARATORS = [" ", ".", "-", "_", "–", "\u00a0", ""]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_IBAN_SEPARATORS), min_size=19, max_size=19), st.booleans())
def test_any_iban_spelling_the_parser_accepts_is_masked(separators: list[str], full_width: bool) -> None:
    typed = IBAN[0] + "".join(sep + c for sep, c in zip(separators, IBAN[1:], strict=True))
    if full_width:
        typed = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in typed)
    assert normalise_iban(typed) == IBAN
    masked = scrub(f"счёт {typed} ок")
    assert masked == f"счёт {IBAN_MASK} ок", (typed, masked)


def test_query_values_are_masked_however_encoded() -> None:
    line = ('127.0.0.1 "GET /ops?search=%2B77011234567&status=x HTTP/1.1" 200 "http://h/ops?search=8+701+123+45+67" '
            '"GET /v1/dialogs?msisdn=8%20701%20123%2045%2067&limit=5" "GET /ops?search=9003%201540%200017&cursor=25"')
    masked = mask_query_values(line)
    for raw in ("77011234567", "701+123+45+67", "701%20123", "9003%201540%200017"):
        assert raw not in masked
    assert masked.count(PHONE_MASK) == 3 and IIN_MASK in masked and "cursor=25" in masked and "status=x" in masked


@pytest.fixture
def access_log() -> Iterator[io.StringIO]:
    """The process log as the bot writes it (tests/helpers.py)."""
    with captured_process_log() as stream:
        yield stream


async def test_the_access_log_never_shows_a_searched_phone_or_iin(real: Running, access_log: io.StringIO) -> None:
    auth = {"Authorization": "Bearer dev-operator"}
    paths = ["/ops?search=%2B77011234567", "/ops?search=8+701+123+45+67", "/ops/api/dialogs?search=900315400017",
             "/ops/api/dialogs?search=9003%201540%200017", "/v1/dialogs?msisdn=%2B77011234567",
             "/v1/dialogs?msisdn=8%20701%20123%2045%2067"]
    for path in paths:
        async with real.client.session.get(f"{real.system.url}{path}", headers=auth) as resp:
            await resp.read()
    written = access_log.getvalue()
    assert written.count("GET /") >= len(paths), written  # the access log did write each request
    for raw in ("77011234567", "701+123+45+67", "701%20123", "900315400017", "9003%201540"):
        assert raw not in written, written
    assert PHONE_MASK in written and IIN_MASK in written


async def test_an_iban_typed_with_dots_is_masked_for_operators(real: Running) -> None:
    msisdn = "+77015550303"
    status, answer, _ = await birth(real.client, msisdn=msisdn, parent_iin=FATHER_NO_ACCOUNT)
    assert status == 202
    dotted = ".".join(VALID_IBAN[i:i + 4] for i in range(0, 20, 4))
    assert await real.client.phone_says(msisdn, "1") == 202
    assert await real.client.phone_says(msisdn, dotted) == 202
    dialog = await real.client.dialog(answer["dialog_id"])
    assert dialog["status"] == "submitted"  # the parser took it ...
    shown = str(dialog)
    assert dotted not in shown and VALID_IBAN not in shown and VALID_IBAN[4:16] not in shown.replace(".", "")
    assert "KZ** **** **** **** 1234" in shown  # ... and the operator sees it masked


@pytest.mark.parametrize("line", ["GET /ops?search=%2B77011234567 HTTP/1.1", "GET /ops?search=8+701+123+45+67 HTTP/1.1",
                                  "GET /v1/dialogs?msisdn=9003%201540%200017 HTTP/1.1",
                                  "GET /x?iban=KZ03601KZT0000412345 HTTP/1.1"])
def test_masking_a_line_twice_changes_nothing_more(line: str) -> None:
    """Two masked handlers on one logger (a command's and a test's) pass the record through both filters."""
    once = mask_query_values(line)
    assert once != line and mask_query_values(once) == once
