"""The README's dev page screenshots: cases started and played through the page alone, in Debian's Chromium.

Run with `./scripts/dev-screenshot` (writes docs/dev.png and docs/dev-phone.png).
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from playwright.async_api import Page

from bot.devserver import start_dev
from tests.browser.chromium import chromium
from tests.conftest import MONDAY_10

DOCS = Path(__file__).resolve().parents[2] / "docs"


async def submit(page: Page, action: str) -> None:
    """Press a button and wait for the page it leads to (each of the page's buttons is a form)."""
    async with page.expect_navigation():
        await page.get_by_role("button", name=action).first.click()
    await page.wait_for_selector("body[data-live=on]")


async def play(page: Page, url: str) -> None:
    """A few cases started; the Kazakh-speaking mother with a Halyk account answers on all three channels."""
    await page.goto(f"{url}/dev")
    await page.fill("input[name=token]", "dev-operator")
    await page.fill("input[name=name]", "Aigerim S.")
    async with page.expect_navigation():
        await page.press("input[name=name]", "Enter")
    for person, button in (("father_forte", "Установить инвалидность"), ("caregiver_astana", "Установить инвалидность"),
                           ("father_no_account", "Зарегистрировать рождение")):
        await page.goto(f"{url}/ops/dev")
        async with page.expect_navigation():
            await page.locator(f"tr[data-person={person}]").get_by_role("button", name=button).click()
    await page.goto(f"{url}/ops/dev")
    mother = page.locator("tr[data-person=mother_halyk]")
    async with page.expect_navigation():
        await mother.get_by_role("button", name="Зарегистрировать рождение").click()
    await page.get_by_label("Ответ на номер 1414").fill("кім бұл?")  # who writes? (a question, not an answer)
    await submit(page, "Отправить")
    await submit(page, "Открыть бота (/start)")
    async with page.expect_navigation():
        await page.get_by_test_id("tg-share").click()
    async with page.expect_navigation():
        await page.locator("[data-action='consent:1']").last.click()  # consent, in Telegram
    await submit(page, "Набрать *1414#")  # the account question, on USSD
    await page.wait_for_selector("[data-testid=ussd-screen][data-state=open]")


async def main(out: Path = DOCS) -> None:
    system = await start_dev(port=0, clock_start=MONDAY_10)
    try:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="ru-RU")
            await play(page, system.url)
            phone = page.url.split("?")[0]
            assert re.search(r"/ops/dev/phones/77015550101$", phone), phone
            await page.goto(phone)
            await page.wait_for_selector("body[data-live=on]")
            await page.screenshot(path=str(out / "dev-phone.png"), full_page=True)
            await page.goto(f"{system.url}/ops/dev")
            await page.wait_for_selector("body[data-live=on]")
            await page.screenshot(path=str(out / "dev.png"), full_page=True)
    finally:
        await system.stop()


if __name__ == "__main__":
    DOCS.mkdir(exist_ok=True)
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS))
