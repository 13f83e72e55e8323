"""The README's console screenshots: the demo's families on a dev system, seen by a signed-in operator.

Run with `./scripts/console-screenshot` (writes docs/console.png and docs/console-dialog.png).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp

from bot.demo import SCENES, START
from bot.devclient import DevClient
from bot.devserver import start_dev
from tests.browser.chromium import chromium, sign_in
from tests.helpers import birth

DOCS = Path(__file__).resolve().parents[2] / "docs"


async def families(client: DevClient) -> str:
    """Every demo scene, then a few dialogs still open today (one needing a person); a decided dialog's id."""
    ids = [await scene.play(client, scene.msisdn) for scene in SCENES]
    await birth(client, msisdn="+77015551011", language="ru")
    await birth(client, msisdn="+77015551012", language="kk", parent_iin="880930324560")
    for reply in ("не понял", "?", "кім бұл"):
        await client.phone_says("+77015551012", reply)
    await birth(client, msisdn="+77015551013", language="ru", parent_iin="871125494512")
    await client.phone_says("+77015551013", "1")
    return ids[1]  # disabled child, in Russian: a typo in the IBAN, then assigned


async def main(out: Path = DOCS) -> None:
    system = await start_dev(port=0, clock_start=START)
    try:
        async with aiohttp.ClientSession() as session:
            dialog_id = await families(DevClient(session, system.url))
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="ru-RU")
            await sign_in(page, system.url)
            await page.wait_for_selector("body[data-live=on]")
            await page.screenshot(path=str(out / "console.png"), full_page=False)
            await page.goto(f"{system.url}/ops/dialogs/{dialog_id}")
            await page.wait_for_selector("body[data-live=on]")
            await page.screenshot(path=str(out / "console-dialog.png"), full_page=True)
    finally:
        await system.stop()


if __name__ == "__main__":
    DOCS.mkdir(exist_ok=True)
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS))
