"""The published HumanLayer SDK pointed at a running app, and a few waits on what it did."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from humanlayer import AsyncHumanLayer, HumanLayer

from bot.standins.slack_workspace import Message
from tests.conftest import SlackDriver
from tests.email_support import MailDriver


def base_url(slack: SlackDriver | MailDriver) -> str:
    """`HUMANLAYER_API_BASE` for the app under test."""
    return str(slack.api.base_url).rstrip("/") + "/humanlayer/v1"


POLL_S = 0.02
"""The SDK polls every 3 s; its own `sleep` seam shortens that (its code is unchanged)."""


def sdk(slack: SlackDriver | MailDriver, *, key: str = "test-token", **kwargs: Any) -> HumanLayer:
    """The sync SDK on the app's `/humanlayer/v1`, as an operator's agent would configure it."""
    base = base_url(slack)
    return HumanLayer(api_key=key, api_base_url=base, sleep=lambda _s: time.sleep(POLL_S), **kwargs)


def async_sdk(slack: SlackDriver, *, key: str = "test-token", **kwargs: Any) -> AsyncHumanLayer:
    """The async SDK on the app's `/humanlayer/v1`."""
    base = base_url(slack)

    async def sleep(_s: float) -> None:
        await asyncio.sleep(POLL_S)

    return AsyncHumanLayer(api_key=key, api_base_url=base, sleep=sleep, **kwargs)


async def until(condition: Callable[[], object], timeout: float = 10) -> None:
    """Wait until `condition()` is true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def pending(
    slack: SlackDriver, count: int = 1, timeout: float = 10
) -> tuple[dict[str, Any], Message]:
    """Once `count` threads exist, the newest one's recorded card (see `SlackDriver.pending`)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(await slack.threads()) < count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the SDK's call never arrived")
        await asyncio.sleep(0.02)
    return await slack.pending()
