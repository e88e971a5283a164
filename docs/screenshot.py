"""Retake docs/playground.png: a playground mid-approval (run `hitlbot dev` first).

    .venv/bin/hitlbot dev &          # then
    .venv/bin/python docs/screenshot.py [http://127.0.0.1:8000]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from playwright.async_api import async_playwright, expect


async def main(url: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = await browser.new_page(viewport={"width": 1600, "height": 900})
        await page.goto(url + "/")
        await page.click('#mail-compose button[type="submit"]')
        await page.click('#composer button[type="submit"]')  # Ben: the prefilled request
        card = page.locator(".msg.bot", has_text="Approval needed")
        await expect(card.get_by_role("button", name="Approve")).to_be_visible(timeout=20_000)
        await page.select_option("#person", "U0MAYA")  # the approver, about to click
        await expect(page.locator(".messages[data-current=C0DEPLOYS]")).to_be_visible()
        await expect(page.locator("#thread-status")).to_have_text("waiting_approval")
        await page.locator(".ctx summary").last.click()
        await page.wait_for_timeout(800)
        out = Path(__file__).parent / "playground.png"
        await page.screenshot(path=str(out))
        await browser.close()
        print(out)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"))
