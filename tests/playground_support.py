"""The playground as `hitlbot dev` serves it, on a real socket, for the page's tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from playwright.async_api import Page, async_playwright

from bot.config import Settings
from bot.dev.embedded_redis import free_port
from bot.playground.app import dev_app
from bot.playground.kit import Playground
from bot.standins.harness import serve


@dataclass
class Running:
    """The served playground."""

    url: str
    """Its base URL (the page is at `url + "/"`)."""
    playground: Playground
    """Its live state."""
    http: httpx.AsyncClient
    """A client on it, with the API token."""


@contextlib.asynccontextmanager
async def running_playground(settings: Settings) -> AsyncIterator[Running]:
    """Web, worker, offline model, built-in Slack workspace and mail catcher, as in dev."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"model": "offline"})
    app, playground, _ = dev_app(settings, url)
    assert playground.slack is not None and playground.sink is not None
    await playground.sink.start()
    try:
        async with serve(app, port):
            headers = {"Authorization": f"Bearer {settings.api_token}"}
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as http:
                yield Running(url, playground, http)
    finally:
        await playground.sink.stop()


CHROMIUM = "/usr/bin/chromium"
"""Debian's chromium (`apt-get install chromium`); Playwright never downloads a browser here."""


@contextlib.asynccontextmanager
async def opened_page(url: str) -> AsyncIterator[Page]:
    """A page of Debian's chromium on `url`, in a window the size the playground is laid out
    for; closed with the browser when the block ends."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context(viewport={"width": 1500, "height": 950})
            page = await context.new_page()
            await page.goto(url)
            yield page
        finally:
            await browser.close()
