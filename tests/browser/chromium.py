"""Debian's Chromium driven by Playwright: how every browser test and the README screenshot launch it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")  # the system browser (scripts/ensure-browser); never `playwright install`
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@asynccontextmanager
async def chromium(lang: str = "ru-RU") -> AsyncIterator[Browser]:
    """A headless Chromium for the length of the block, its own interface (date fields) in `lang`."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=[*ARGS, f"--lang={lang}"],
                                                   headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(page: Page, base_url: str, *, name: str = "Aigerim S.", lang: str = "ru",
                  token: str = "dev-operator") -> None:
    """Open the console and sign in as an operator would."""
    await page.goto(f"{base_url}/ops")
    await page.fill("input[name=token]", token)
    await page.fill("input[name=name]", name)
    await page.select_option("select[name=lang]", lang)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}/ops")
