"""The dev page in a real browser (Debian's Chromium, headless, driven by Playwright): dialogs played through it alone.

Every step is a click or a keystroke on the page; the test reads the system only to check what the page showed.
"""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.chromium import ARTIFACTS
from tests.conftest import Running

expect.set_options(timeout=15_000)
MOTHER = "+77015550101"  # seeded: Halyk Bank account on record, Kazakh (bot/devpage/people.py)
FATHER = "+77015550105"  # seeded: ForteBank, Russian; "establish a disability" is his child's
MOTHER_OF_THREE = "+77015550104"  # seeded: Kaspi Bank, Kazakh



async def open_dev_page(page: Page, url: str, *, lang: str = "ru") -> None:
    """What the README says: open /dev, sign in as an operator, land on the dev page."""
    response = await page.goto(f"{url}/dev")
    assert response is not None and response.status == 401  # the operator's sign-in comes first
    await page.locator("input[name=token]").fill("dev-operator")
    await page.locator("input[name=name]").fill("Dana")
    await page.locator("select[name=lang]").select_option(lang)
    await page.locator("input[name=name]").press("Enter")
    await page.wait_for_url(f"{url}/ops/dev")
    await expect(page.locator("body")).to_have_attribute("data-live", "on")


async def start(page: Page, person: str, button: str) -> None:
    """Press a seeded person's button; the page goes to their phone."""
    await page.locator(f"tr[data-person={person}]").get_by_role("button", name=button).click()
    await page.wait_for_url(re.compile(r".*/ops/dev/phones/\d+\?done=started.*"))
    await expect(page.locator("body")).to_have_attribute("data-live", "on")


async def test_a_birth_dialog_played_through_the_page_alone(real: Running, page: Page) -> None:
    url = real.system.url
    await open_dev_page(page, url)
    await start(page, "mother_halyk", "Зарегистрировать рождение")
    await expect(page.get_by_test_id("notice")).to_contain_text("Событие реестра принято")
    received = page.get_by_test_id("sms")
    await expect(received).to_have_count(1)  # the offer, in Kazakh: Cyrillic, so UCS-2, in several parts
    offer = received.first
    await expect(offer).to_have_attribute("title", re.compile(r"UCS2 · частей: [23]"))
    await expect(offer.locator(".parts")).to_have_css("opacity", "0")
    await offer.hover()
    await expect(offer.locator(".parts")).to_have_css("opacity", "1")  # encoding and parts shown on hover

    # Live: an operator resends the question from elsewhere; the phone shows it without a reload.
    await page.evaluate("window.notReloaded = true")
    dialog_id = await page.get_by_test_id("phone-dialogs").locator("li").first.get_attribute("data-dialog-id")
    async with real.client.session.post(f"{url}/ops/api/dialogs/{dialog_id}/resend",
                                        headers={"Authorization": "Bearer dev-operator"}) as resp:
        assert resp.status == 200
    await expect(received).to_have_count(2)
    assert await page.evaluate("window.notReloaded === true")

    reply = page.get_by_label("Ответ на номер 1414")
    await reply.fill("иә")  # consent
    await reply.press("Enter")
    await expect(page.get_by_test_id("sms-sent")).to_have_count(1)
    await expect(received).to_have_count(3)  # the account on record, to confirm
    await expect(received.last).to_contain_text("Halyk Bank")
    await expect(page.get_by_label("Ответ на номер 1414")).to_be_focused()  # back where the user was typing
    await page.get_by_label("Ответ на номер 1414").fill("1")  # the account is right
    await page.get_by_test_id("sms-send").click()
    await expect(received).to_have_count(4)  # the application registered, with its decision date
    status = page.get_by_test_id("phone-dialogs").locator("li").first
    await expect(status).to_have_attribute("data-status", "submitted")
    await expect(page.get_by_test_id("next-decision")).to_contain_text("23.11.2026 11:00")

    await page.get_by_role("button", name="К решению").click()
    await expect(page.get_by_test_id("clock-now")).to_contain_text("23.11.2026 11:00")
    await expect(received).to_have_count(5)  # the decision SMS
    await expect(status).to_have_attribute("data-status", "assigned")
    dialog = await real.client.dialog(str(dialog_id))
    assert dialog["status"] == "assigned" and dialog["consent"]["channel"] == "sms"
    await expect(received.last).to_contain_text(dialog["application"]["id"])
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dev-phone-sms.png"), full_page=True)

    # Both sides: to the dialog in the console, and back to the phone.
    await page.get_by_test_id("console-link").first.click()
    await page.wait_for_url(f"{url}/ops/dialogs/{dialog_id}")
    await expect(page.locator(".head [data-status]")).to_have_attribute("data-status", "assigned")
    await page.get_by_test_id("dev-phone").click()
    await page.wait_for_url(f"{url}/ops/dev/phones/{MOTHER[1:]}")


async def test_a_ussd_consent_with_a_session_cut_by_the_network(real: Running, page: Page) -> None:
    await open_dev_page(page, real.system.url)
    await start(page, "father_forte", "Установить инвалидность")
    screen = page.get_by_test_id("ussd-screen")
    await expect(screen).to_have_attribute("data-state", "idle")
    await page.get_by_test_id("ussd-dial").click()
    await expect(screen).to_have_attribute("data-state", "open")  # CON: the offer as a menu
    await expect(screen).to_contain_text("1.")
    await expect(page.get_by_label("Номер или ответ")).to_be_focused()
    await page.get_by_role("group", name="Клавиатура").get_by_role("button", name="1", exact=True).click()
    await expect(page.get_by_label("Номер или ответ")).to_have_value("1")
    await page.get_by_role("button", name="Вызов").click()  # consent on USSD
    await expect(screen).to_have_attribute("data-state", "open")  # the next question: the account on record
    await expect(screen).to_contain_text("ForteBank")

    await page.get_by_test_id("ussd-cut").click()  # the network drops the session; the bot is not told
    await expect(page.get_by_test_id("notice")).to_have_text("Сеть оборвала сессию")
    await expect(screen).to_have_attribute("data-state", "cut")
    await expect(page.get_by_test_id("ussd-history").locator("li[data-state=cut]")).to_have_count(1)
    await page.get_by_test_id("ussd-dial").click()  # dialled again: offered back where it stopped
    await expect(screen).to_have_attribute("data-state", "open")
    history = page.get_by_test_id("ussd-history").locator("li")
    await expect(history).to_have_count(2)

    [dialog] = (await real.client.dialogs(msisdn=FATHER))[1]["dialogs"]
    assert dialog["status"] == "awaiting_bank_account" and dialog["consent"]["channel"] == "ussd"
    sms = page.get_by_test_id("sms")
    await expect(sms).to_have_count(1)  # the offer went by SMS too, as the law names SMS
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dev-phone-ussd.png"), full_page=True)


async def test_a_telegram_consent_with_the_contact_sharing_step(real: Running, page: Page) -> None:
    await open_dev_page(page, real.system.url)
    await start(page, "mother_of_three", "Зарегистрировать рождение")
    chat = page.get_by_test_id("tg-chat")
    await page.get_by_test_id("tg-start").click()
    await expect(chat.get_by_test_id("tg-sent")).to_have_count(1)  # /start
    share = chat.get_by_test_id("tg-share")
    await expect(share).to_have_count(1)  # the bot asks for the phone with a contact button
    await share.click()
    await expect(chat.get_by_test_id("tg-sent").last).to_have_attribute("data-kind", "contact")
    consent = chat.locator("[data-action='consent:1']")
    await expect(consent).to_have_count(1)  # bound: the open question asked again, with its buttons
    await expect(chat.get_by_test_id("tg-share")).to_have_count(0)  # the contact keyboard is gone
    await consent.click()
    await expect(chat.locator("[data-action='bank:1']")).to_have_count(1)  # consent taken: the account now
    [dialog] = (await real.client.dialogs(msisdn=MOTHER_OF_THREE))[1]["dialogs"]
    assert dialog["status"] == "awaiting_bank_account" and dialog["consent"]["channel"] == "telegram"

    await chat.locator("[data-action='consent:1']").click()  # the old button: that question is closed
    await expect(chat.get_by_test_id("tg-sent").last).to_have_attribute("data-kind", "popup")
    [dialog] = (await real.client.dialogs(msisdn=MOTHER_OF_THREE))[1]["dialogs"]
    assert dialog["status"] == "awaiting_bank_account"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dev-phone-telegram.png"), full_page=True)


ACCESSIBLE = """() => {
  const shown = (el) => el.offsetParent !== null;
  const unlabelled = [...document.querySelectorAll("input, select, textarea")]
    .filter((el) => el.type !== "hidden" && shown(el) && !(el.labels && el.labels.length) && !el.ariaLabel);
  const nameless = [...document.querySelectorAll("button, a")].filter((el) => shown(el) && !el.textContent.trim());
  const fake = [...document.querySelectorAll("[onclick], div[tabindex], span[tabindex]")];
  return {unlabelled: unlabelled.map((el) => el.outerHTML), nameless: nameless.map((el) => el.outerHTML),
          fake: fake.map((el) => el.outerHTML)};
}"""


async def test_in_kazakh_and_by_keyboard_alone(real: Running, page: Page) -> None:
    await open_dev_page(page, real.system.url, lang="kk")
    await expect(page.locator("h1")).to_have_text("Құмсалғыш: телефондар мен сағат")
    assert await page.evaluate(ACCESSIBLE) == {"unlabelled": [], "nameless": [], "fake": []}
    birth = page.locator("tr[data-person=mother_halyk]").get_by_role("button", name="Туылуды тіркеу")
    await birth.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r".*/ops/dev/phones/77015550101\?done=started.*"))
    await expect(page.get_by_test_id("notice")).to_contain_text("Тізілім оқиғасы қабылданды")
    await expect(page.get_by_label("1414 нөміріне жауап")).to_be_focused()  # the reply box, ready to type
    await page.keyboard.type("иә")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Жіберу").first).to_be_focused()  # then its send button
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("sms")).to_have_count(2)
    assert await page.evaluate(ACCESSIBLE) == {"unlabelled": [], "nameless": [], "fake": []}
    clock = page.get_by_role("button", name="+24 сағат")
    await clock.focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("clock-now")).to_contain_text("24.11.2026 10:00")
    await expect(page.get_by_role("button", name="+1 сағат")).to_be_focused()  # back at the clock's buttons
    await expect(page.locator("[data-testid=operator]")).to_have_text("Dana")  # still signed in after the jump
