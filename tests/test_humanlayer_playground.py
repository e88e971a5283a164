"""An external call's card in the playground (real browser): the published HumanLayer SDK
asks, a person approves on the page, the SDK's function runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from humanlayer import HumanLayer
from playwright.async_api import Page, expect

from bot.config import Settings
from tests.playground_support import Running, opened_page, running_playground
from tests.test_playground_browser import WAIT_MS, be

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Running]:
    async with running_playground(settings) as running:
        yield running


@pytest.fixture
async def page(running: Running) -> AsyncIterator[Page]:
    async with opened_page(running.url + "/") as page:
        yield page


async def test_an_external_call_approved_in_the_playground(running: Running, page: Page) -> None:
    hl = HumanLayer(
        api_key=running.http.headers["Authorization"].removeprefix("Bearer "),
        api_base_url=f"{running.url}/humanlayer/v1",
        sleep=lambda _s: time.sleep(0.05),
    )
    runs: list[str] = []

    @hl.require_approval()
    def rotate_keys(service: str) -> str:
        runs.append(service)
        return f"rotated {service}"

    result = asyncio.create_task(asyncio.to_thread(rotate_keys, service="billing"))
    await be(page, "U0MAYA", "C0APPROVALS")
    card = page.locator(".msg.bot", has_text="Approval needed: rotate_keys")
    await expect(card.get_by_role("button", name="Approve")).to_be_visible(timeout=WAIT_MS)
    await expect(card).to_contain_text("billing")
    await expect(card.get_by_role("button", name="Edit")).to_have_count(0)
    await card.get_by_role("button", name="Approve").click()
    await expect(card).to_contain_text("Approved by", timeout=WAIT_MS)
    assert await asyncio.wait_for(result, 20) == "rotated billing"
    assert runs == ["billing"]
    panes = await running.http.get("/dev/panes", params={"person": "U0MAYA"})
    assert panes.status_code == 200
    timeline = panes.json()["timeline"]
    assert "rotate_keys" in timeline and "external" in timeline
