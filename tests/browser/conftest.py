"""The browser tests' page: Debian's Chromium (tests/browser/chromium.py), a 1440×900 window, Russian locale."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page

from tests.browser.chromium import CHROMIUM, chromium


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    assert CHROMIUM.exists(), "no /usr/bin/chromium: run ./scripts/ensure-browser (./scripts/test does)"
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="ru-RU")
        yield await context.new_page()
        await context.close()
