"""Control characters from outside never reach a log line or `proactive-bot logs` raw; outside ids are checked."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from typing import Any

import pytest
from yarl import URL

from bot.cli import main
from bot.http.common import STORE
from bot.logs import escape_controls, masked_handler
from bot.logtail import LogFilter, format_record, json_line, tail
from bot.ops.auth import clean_name
from tests.conftest import Running
from tests.helpers import birth
from tests.security.gateway import build, send

MSISDN = "+77015550202"
# What an attacker writes: a newline forging a log line, ESC clearing the screen, C1 NEL, a bidi override.
HOSTILE = "ok\n2026-11-23 10:00:00 INFO bot.engine consent recorded\x1b[2J\x1b]0;pwned\x07\x85\u202eevil\u2066"
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
async def dialog_id(real: Running) -> str:
    status, answer, _ = await birth(real.client, msisdn=MSISDN)
    assert status == 202
    await real.system.gateway.flush()  # delivery reports still in flight would change the transcript
    return str(answer["dialog_id"])


async def _state(run: Running, dialog_id: str) -> tuple[Any, ...]:
    dialog = await run.client.dialog(dialog_id)
    log = await run.system.runner.app[STORE].dialog_log(dialog_id)
    return dialog["status"], dialog["transcript"], len(log), len(await run.client.inbox(MSISDN))


BAD_IDS = [
    ("sms", "message_id", {"from": MSISDN, "to": "1414", "text": "1"}),
    ("sms_status", "message_id", {"status": "failed"}),
    ("sms_status", "client_id", {"message_id": "gw-1", "status": "failed"}),
    ("ussd", "sessionId", {"serviceCode": "*1414#", "phoneNumber": MSISDN, "text": ""}),
    ("ussd", "serviceCode", {"sessionId": "s-1", "phoneNumber": MSISDN, "text": ""}),
]


@pytest.mark.parametrize(("endpoint", "field", "rest"), BAD_IDS, ids=[f"{e}.{f}" for e, f, _ in BAD_IDS])
@pytest.mark.parametrize("value", [HOSTILE, "a" * 129, "", "id with spaces", "id\"quote"],
                         ids=["controls", "too long", "empty", "spaces", "quote"])
async def test_an_outside_id_that_is_not_an_id_is_a_422_naming_it(real: Running, dialog_id: str, endpoint: str,
                                                                   field: str, rest: dict[str, Any],
                                                                   value: str) -> None:
    before = await _state(real, dialog_id)
    post = await build(real, endpoint, json.dumps({**rest, field: value}).encode())
    status, text = await send(real, post)
    assert status == 422, text
    assert json.loads(text)["errors"][0]["field"] == field
    assert await _state(real, dialog_id) == before


@pytest.mark.parametrize(("field", "body"), [
    ("event_id", {"event_id": "zags-1\n", "type": "cancel", "cancels": "zags-0",
                  "registered_at": "2026-11-23T10:00:00+05:00"}),
    ("event_id", {"event_id": "zags-1\u202e", "type": "cancel", "cancels": "zags-0",
                  "registered_at": "2026-11-23T10:00:00+05:00"}),
    ("cancels", {"event_id": "zags-2", "type": "cancel", "cancels": "zags-0\n2026 INFO forged",
                 "registered_at": "2026-11-23T10:00:00+05:00"}),
], ids=["trailing newline", "bidi override", "cancels with a newline"])
async def test_an_event_id_that_is_not_an_id_is_a_422_naming_it(real: Running, dialog_id: str, field: str,
                                                                body: dict[str, Any]) -> None:
    before = await _state(real, dialog_id)
    status, text = await send(real, await build(real, "events", json.dumps(body).encode()))
    assert status == 422, text
    assert [e["field"] for e in json.loads(text)["errors"]] == [field]
    assert await _state(real, dialog_id) == before


def test_every_app_log_line_escapes_control_characters() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tests.security.injection")
    logger.addHandler(handler := masked_handler(stream))
    logger.propagate = False
    try:
        logger.warning("delivery report %s for %s", HOSTILE, "+77011234567")
        try:
            raise ValueError(HOSTILE)
        except ValueError:
            logger.exception("failed: %s", HOSTILE)
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert not RAW.search(written), written
    first, second = written.splitlines()[:2]
    assert "\\x0a2026-11-23 10:00:00 INFO" in first and "\\x1b[2J" in first and "\\u202eevil" in first
    assert "+7701***4567" in first
    assert second.startswith(first[:4]) and "failed:" in second  # the forged line stayed inside the first
    assert "Traceback" in written and written.count("\n") > 3  # a traceback keeps its own lines


def test_the_log_tail_escapes_what_came_from_outside_and_keeps_its_own_colours() -> None:
    record = {"at": "2026-11-23T05:00:00Z", "dialog_id": "d_0000-1111-2222-3333", "service": "birth",
              "msisdn": "+7701***0202", "type": "operator", "action": "note", "operator": HOSTILE, "text": HOSTILE}
    for colour in (False, True):
        line = format_record(record, colour=colour)
        stripped = re.sub(r"\x1b\[[0-9;]*m", "", line)  # our own colour codes, the only ESC allowed
        assert not RAW.search(stripped), repr(line)
        assert "\\x1b[2J" in line and "\\u202e" in line and "\n" not in line
    line = json_line(record)
    assert not RAW.search(line) and json.loads(line) == record


def test_an_operator_name_enters_without_control_or_bidi_characters() -> None:
    """The sign-in form and the X-Operator header both go through clean_name (HTTP clients refuse to send most
    controls in a header, a form carries them all)."""
    assert clean_name("Айгүл\x1b[2J\u202eadmin\x85\u2066") == "Айгүл[2Jadmin"
    assert clean_name("forged\n2026-11-23 INFO x") == "forged 2026-11-23 INFO x"
    assert clean_name("\x1b\u202e") is None


async def test_operator_notes_reach_the_tail_escaped(real: Running, dialog_id: str) -> None:
    headers = {"Authorization": "Bearer dev-operator", "X-Operator": "Aigul", "Content-Type": "application/json"}
    async with real.client.session.post(f"{real.system.url}/ops/api/dialogs/{dialog_id}/note", headers=headers,
                                        data=json.dumps({"text": HOSTILE})) as resp:
        assert resp.status == 201, await resp.text()
    store = real.system.runner.app[STORE]
    lines: list[str] = []
    await tail(store, LogFilter(dialog_id=dialog_id), lines.append)
    await tail(store, LogFilter(dialog_id=dialog_id), lines.append, as_json=True)
    assert lines and not any(RAW.search(line) for line in lines)
    assert any(escape_controls(HOSTILE) in line for line in lines)  # shown, as an escape, not acted on


@pytest.mark.parametrize("action", ["note", "reveal"])
async def test_an_operator_name_that_is_not_utf8_is_taken_not_a_500(real: Running, dialog_id: str,
                                                                   action: str) -> None:
    """aiohttp keeps a header's undecodable bytes as lone surrogates; the name must still store and log."""
    url = URL(real.system.url)
    body = json.dumps({"text": "checked"}).encode()
    request = (f"POST /ops/api/dialogs/{dialog_id}/{action} HTTP/1.1\r\nHost: {url.host}\r\n"
               f"Authorization: Bearer dev-operator\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n").encode()
    request += b"X-Operator: Ai\xffgul\r\n\r\n" + body
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] in (b"200", b"201"), status_line
    log = await real.system.runner.app[STORE].dialog_log(dialog_id)
    assert any(record.get("operator") == "Ai?gul" for record in log)


@pytest.mark.parametrize("command", [["logs", "--last", "1"], ["ledger", "verify"]])
def test_a_redis_password_never_reaches_the_terminal(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Redis unreachable: the command says where it tried, without the password the URL carries."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = main([*command, "--redis-url", "redis://:s3cret-password@127.0.0.1:1/0"])
    finally:  # the command sets up the process's logging; the tests' own stays as it was
        root.handlers[:], root.level = handlers, level
    err = capsys.readouterr().err
    assert code != 0 and "127.0.0.1:1" in err and "s3cret-password" not in err
