"""The console in a real browser (Debian's Chromium, headless, driven by Playwright) against a running dev system."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.chromium import ARTIFACTS, sign_in
from tests.conftest import Running
from tests.helpers import MOTHER_WITH_HALYK, birth

RAW_PHONE = re.compile(r"\+?7701222\d{4}")
expect.set_options(timeout=15_000)



async def test_an_operator_watches_a_dialog_live_reads_the_transcript_and_resends_the_question(
        real: Running, page: Page) -> None:
    client, url = real.client, real.system.url
    await sign_in(page, url, name="Aigerim S.")
    await expect(page.locator("body")).to_have_attribute("data-live", "on")
    _, answer, _ = await birth(client, msisdn="+77012220001", parent_iin=MOTHER_WITH_HALYK, language="ru")
    row = page.locator(f'tr[data-dialog-id="{answer["dialog_id"]}"]')
    await expect(row).to_have_attribute("data-status", "awaiting_consent")  # appeared without a reload
    await expect(page.get_by_test_id("count-new")).to_contain_text("1")
    await client.phone_says("+77012220001", "1")
    await expect(row).to_have_attribute("data-status", "awaiting_bank_account")  # changed without a reload
    await expect(page.get_by_test_id("count-consents")).to_contain_text("1")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-list.png"))

    await row.get_by_role("link").click()
    await page.wait_for_url(f"{url}/ops/dialogs/{answer['dialog_id']}")
    messages = page.get_by_test_id("message")
    await expect(messages).to_have_count(3)  # the offer, the citizen's "1", the account to confirm
    await expect(messages.nth(1)).to_contain_text("1")
    await expect(messages.first.get_by_test_id("delivery")).to_have_text("доставлено")
    await expect(page.get_by_test_id("timeline").locator("li")).to_have_count(2)
    await expect(page.locator("body")).to_have_attribute("data-live", "on")
    await client.phone_says("+77012220001", "2")  # another account, please
    await expect(messages).to_have_count(5)  # live on the dialog page too

    await page.get_by_test_id("resend").click()
    await expect(page.get_by_test_id("notice")).to_have_text("Вопрос отправлен повторно")
    await expect(messages).to_have_count(6)
    await expect(page.get_by_test_id("log").locator("li[data-action=resend]")).to_contain_text("Aigerim S.")
    inbox = await client.inbox("+77012220001")
    assert inbox[-1]["text"] == inbox[-2]["text"]  # the phone got the open question again
    assert not RAW_PHONE.search(await page.content())  # masked everywhere until revealed
    await page.screenshot(path=str(ARTIFACTS / "console-dialog.png"), full_page=True)


async def test_without_the_token_the_browser_gets_the_sign_in_page_with_401(real: Running, page: Page) -> None:
    for path in ("/ops", "/ops/queue", "/ops/dialogs/d_x"):
        response = await page.goto(f"{real.system.url}{path}")
        assert response is not None and response.status == 401
        await expect(page.locator("input[name=token]")).to_be_visible()
    await page.fill("input[name=token]", "guess")
    await page.fill("input[name=name]", "Someone")
    await page.click("button[type=submit]")
    await expect(page.locator(".notice.bad")).to_have_text("Неверный токен или не указано имя")


async def test_the_console_switches_to_kazakh_and_keeps_the_page(real: Running, page: Page) -> None:
    await sign_in(page, real.system.url)
    await page.goto(f"{real.system.url}/ops/queue")
    await page.get_by_role("button", name="Қазақша").click()
    await expect(page.locator("h1")).to_have_text("Операторды қажет ететін диалогтар")
    assert page.url.endswith("/ops/queue")
