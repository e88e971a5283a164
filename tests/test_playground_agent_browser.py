"""The agent features in the playground, in a real browser (Debian's chromium, Playwright):
feedback buttons under an answer, the status line with Stop, and a streamed answer growing
on the page. Like the other browser tests they only look at what the page shows."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Page, expect

from bot.config import Settings
from bot.playground.kit import BOT_TOKEN
from tests.playground_support import Running, opened_page, running_playground

WAIT_MS = 20_000

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Running]:
    async with running_playground(settings) as running:
        yield running


@pytest.fixture
async def page(running: Running) -> AsyncIterator[Page]:
    async with opened_page(running.url + "/") as page:
        yield page


async def write(page: Page, text: str) -> None:
    await page.fill("#composer-text", text)
    await page.click('#composer button[type="submit"]')


async def test_feedback_status_stop_and_a_streamed_answer(page: Page, running: Running) -> None:
    workspace = running.playground.slack
    assert workspace is not None
    # An answer, with thumbs up and down under it; 👎 is recorded and acknowledged.
    await write(page, "@hitlbot deploy api 1.4.2 to staging")
    answer = page.locator(".msg.bot", has_text="staging").last
    await expect(answer.get_by_role("button", name="👎")).to_be_visible(timeout=WAIT_MS)
    await answer.get_by_role("button", name="👎").click()
    await expect(page.locator(".msg.ephemeral")).to_contain_text("noted", timeout=WAIT_MS)

    # A production deploy waits; the status line shows under a thread while the agent works,
    # and Stop cancels the thread: its card says so, the thread is told.
    await write(page, "@hitlbot deploy api 1.4.2 to production")
    card = page.locator(".msg.bot", has_text="Approval needed: deploy_service")
    await expect(card.get_by_role("button", name="Approve")).to_be_visible(timeout=WAIT_MS)
    thread = page.locator(".thread", has=card)
    thread_ts = await thread.get_attribute("data-thread")
    assert thread_ts
    workspace.agent.statuses[("C0DEPLOYS", thread_ts)] = ("is thinking…", [])
    await expect(thread.locator(".status-line")).to_contain_text(
        "hitlbot is thinking…", timeout=WAIT_MS
    )
    await thread.get_by_role("button", name="Stop").click()
    await expect(card).to_contain_text("Cancelled by", timeout=WAIT_MS)
    await expect(card.get_by_role("button", name="Approve")).to_have_count(0)
    await expect(thread).to_contain_text("Stopped by", timeout=WAIT_MS)

    # A streamed answer grows on the page as the bot appends to it (the bot's own Web API
    # calls to the built-in workspace, as the Slack channel makes them).
    headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
    api = f"{running.url}/dev/slack/api/"
    async with httpx.AsyncClient(base_url=api, headers=headers) as bot:
        where = {"channel": "C0DEPLOYS", "thread_ts": thread_ts}
        started = await bot.post(
            "chat.startStream",
            json=where
            | {
                "recipient_user_id": "U0BEN",
                "recipient_team_id": workspace.team_id,
                "markdown_text": "Streaming the first words",
            },
        )
        ts = started.json()["ts"]
        await expect(thread).to_contain_text("Streaming the first words", timeout=WAIT_MS)
        await bot.post(
            "chat.appendStream",
            json={"channel": "C0DEPLOYS", "ts": ts, "markdown_text": ", then the rest."},
        )
        await expect(thread).to_contain_text("first words, then the rest.", timeout=WAIT_MS)
        await bot.post("chat.stopStream", json={"channel": "C0DEPLOYS", "ts": ts})
