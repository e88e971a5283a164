"""The bot's own user id is learnt in the background: a Slack (or, under `hitlbot dev`, this
very process) that does not answer at start delays nothing and turns nothing off for good."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from structlog.testing import capture_logs

from bot.slack.app import SlackApp, learn_bot_user_id
from bot.standins.slack_stub import SlackStub


@pytest.fixture
async def stub() -> AsyncIterator[SlackStub]:
    async with SlackStub() as slack:
        yield slack


class Slept(list[float]):
    """An injected sleep that only notes how long it was asked to sleep."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _app(stub: SlackStub) -> Any:
    client = AsyncWebClient(token="xoxb-test", base_url=stub.api_url)
    return SimpleNamespace(deps=SimpleNamespace(client=client), bot_user_id=None)


async def test_asked_again_with_backoff_until_slack_answers(stub: SlackStub) -> None:
    stub.fail("auth.test", error="fatal_error", times=3)
    app, slept = _app(stub), Slept()

    with capture_logs() as logs:
        await learn_bot_user_id(cast(SlackApp, app), quiet_for=10, sleep=slept)
    assert app.bot_user_id == (await app.deps.client.auth_test())["user_id"]
    assert slept == [0.25, 0.5, 1.0, 2.0]  # the first ask waits too
    assert not [entry for entry in logs if entry["log_level"] != "debug"]  # a dev start: quiet


async def test_a_slack_that_keeps_failing_is_warned_about_once(stub: SlackStub) -> None:
    stub.fail("auth.test", error="fatal_error", times=8)
    app, slept = _app(stub), Slept()

    with capture_logs() as logs:
        await learn_bot_user_id(cast(SlackApp, app), quiet_for=3, max_delay=2, sleep=slept)
    assert slept == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 1 and "go through Bolt until it answers" in warnings[0]["event"]
    assert logs[-1]["log_level"] == "info" and app.bot_user_id is not None
