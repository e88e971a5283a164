"""The Slack app manifest and the setup hints agree with what the code does."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.config import Settings
from bot.slack.app import status

ROOT = Path(__file__).parent.parent


def test_manifest_subscribes_to_what_the_listeners_handle() -> None:
    manifest = yaml.safe_load((ROOT / "slack-manifest.yml").read_text())
    settings = manifest["settings"]
    events = settings["event_subscriptions"]
    assert set(events["bot_events"]) == {
        "app_mention",
        "message.channels",
        "message.groups",
        "message.im",
    }
    assert events["request_url"].endswith("/slack/events")
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": events["request_url"],
    }
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # What each event needs, and what the channel calls (chat.*, reactions.*, usergroups.*;
    # views.* needs none).
    assert scopes == {
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "im:history",
        "chat:write",
        "reactions:write",
        "usergroups:read",
    }
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is False
    assert settings["socket_mode_enabled"] is False


def test_dev_status_line() -> None:
    base = Settings(_env_file=None)
    url = "http://127.0.0.1:8000"
    assert status(base, url).startswith("off (set SLACK_BOT_TOKEN")
    http = base.model_copy(update={"slack_bot_token": "xoxb-1", "slack_signing_secret": "s"})
    assert status(http, url) == (
        "on, Request URL http://127.0.0.1:8000/slack/events (Slack must reach it: use a tunnel)"
        "; nobody can approve until SLACK_APPROVERS is set"
    )
    socket = http.model_copy(update={"slack_app_token": "xapp-1", "slack_approvers": "U1"})
    assert status(socket, url) == "on, over Socket Mode (SLACK_APP_TOKEN)"
    half = base.model_copy(update={"slack_bot_token": "xoxb-1"})
    assert status(half, url).startswith("answers only")
