"""Done means, in a real browser: from a folder outside hitlbot's tree, `hitlbot new agent
inventory --dir <tmp>`, run with HITLBOT_AGENT_PATHS, and the new agent's approval is clicked
in the playground (Debian's chromium, driven by Playwright; never skipped)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from typer.testing import CliRunner

import hitlbot_agents
from bot.cli import app
from bot.config import Settings
from tests.playground_support import opened_page, running_playground
from tests.test_playground_browser import WAIT_MS, be, write

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def outside(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """`hitlbot new agent inventory --dir <tmp>`, run from a folder outside the tree."""
    monkeypatch.setattr(hitlbot_agents, "__path__", list(hitlbot_agents.__path__))
    work = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(work)
    result = CliRunner().invoke(app, ["new", "agent", "inventory", "--dir", "my-agents"])
    assert result.exit_code == 0, result.output
    yield work / "my-agents"
    for name in [name for name in sys.modules if name.startswith("hitlbot_agents.inventory")]:
        del sys.modules[name]


@pytest.fixture
async def page(outside: Path, settings: Settings) -> AsyncIterator[Page]:
    with_mine = settings.model_copy(update={"agent_paths": str(outside)})
    async with running_playground(with_mine) as running, opened_page(running.url + "/") as page:
        yield page


async def test_a_new_agent_outside_the_tree_is_approved_in_the_playground(page: Page) -> None:
    await be(page, "U0BEN", "C0INVENTORY")
    await expect(page.locator(".room-hint")).to_contain_text("inventory")
    await write(page, "@hitlbot please add 10 of A-100")
    card = page.locator(".msg.bot", has_text="Approval needed: add_stock")
    await expect(card.get_by_role("button", name="Approve")).to_be_visible(timeout=WAIT_MS)
    await expect(card).to_contain_text("(offline model)")

    # Switching "You are" keeps the channel the page shows.
    await page.select_option("#person", "U0MAYA")
    await expect(page.locator('.messages[data-current="C0INVENTORY"]')).to_be_visible()
    await expect(card.get_by_role("button", name="Approve")).to_be_visible(timeout=WAIT_MS)
    await card.get_by_role("button", name="Approve").click()
    await expect(page.locator(".msg.bot", has_text="Added 10 of A-100.")).to_be_visible(
        timeout=WAIT_MS
    )
