"""XSS through the console: what operators and citizens type is shown as text, never run as markup.

The console's HTML comes from Jinja2 templates with autoescaping, so no value needs a hand-called escape.
"""

from __future__ import annotations

from tests.helpers import birth
from tests.security._ops import Console, system

NAME = '<script>alert("name")</script>'
NOTE = '<img src=x onerror=alert(1)>"\'&'
REPLY = "<svg onload=alert(2)>"


async def test_markup_in_an_operator_name_a_note_and_a_citizen_reply_is_escaped() -> None:
    async with system() as running:
        _, answer, _ = await birth(running.client, msisdn="+77011119001")
        await running.client.phone_says("+77011119001", REPLY)
        console = Console(running)
        try:
            assert (await console.sign_in(NAME)).status == 303
            dialog = f"/ops/dialogs/{answer['dialog_id']}"
            assert (await console.post(f"{dialog}/note", text=NOTE))[0] == 303
            pages = [(await console.get(path))[1] for path in (dialog, f"{dialog}?fragment=1", "/ops", "/ops/queue",
                                                                 f'/ops?search={REPLY}')]
        finally:
            await console.close()
    for page in pages:
        for raw in (NAME, "<img src=x", "<svg onload"):
            assert raw not in page
    dialog_page = pages[0]
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in dialog_page  # the name, as text
    assert "&lt;img src=x onerror=alert(1)&gt;&#34;&#39;&amp;" in dialog_page  # the note, as text
    assert "&lt;svg onload=alert(2)&gt;" in dialog_page  # the citizen's reply, as text
    assert dialog_page.count("<script") == 1  # only the console's own script, with its nonce


async def test_a_search_that_closes_the_attribute_stays_inside_it() -> None:
    async with system() as running:
        console = Console(running)
        try:
            await console.sign_in()
            status, page = await console.get('/ops?search="><script>alert(3)</script>')
        finally:
            await console.close()
    assert status == 422  # not a phone or an IIN
    assert 'value="&#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"' in page and "<script>alert(3)" not in page
