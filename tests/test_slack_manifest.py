"""The Slack app manifest and the setup hints agree with what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.slack.app import status

ROOT = Path(__file__).parent.parent


# The bot scope each Web API method needs (docs.slack.dev/reference/methods/<method>).
METHOD_SCOPES = {
    "auth_test": None,
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_startStream": "chat:write",
    "chat_appendStream": "chat:write",
    "chat_stopStream": "chat:write",
    "chat_stream": "chat:write",
    "assistant_threads_setStatus": "chat:write",  # or assistant:write, until Slack drops it
    "assistant_threads_setTitle": "assistant:write",
    "assistant_threads_setSuggestedPrompts": "assistant:write",
    "reactions_add": "reactions:write",
    "reactions_remove": "reactions:write",
    "usergroups_users_list": "usergroups:read",
    "views_open": None,
    "views_update": None,
}
# Each event the listeners handle: its subscriptions, and the scope each needs.
EVENT_SUBSCRIPTIONS = {
    "app_mention": {"app_mention": "app_mentions:read"},
    "message": {
        "message.channels": "channels:history",
        "message.groups": "groups:history",
        "message.im": "im:history",
    },
    "app_home_opened": {"app_home_opened": None},
    "assistant_thread_started": {"assistant_thread_started": "assistant:write"},
    "agent_session_stopped": {"agent_session_stopped": "assistant:write"},
}


def _code() -> str:
    """The runtime's own code: not the stand-ins of `bot/standins` or the playground."""
    skip = ("standins", "playground")
    return "\n".join(
        path.read_text()
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if path.relative_to(ROOT / "bot").parts[0] not in skip
    )


def _web_api_calls(code: str) -> set[str]:
    """The Web API methods the code calls (by name: `client.x(...)` or `getattr(client, "x")`)."""
    methods = {
        name
        for name in dir(AsyncWebClient)
        if not name.startswith("_") and "_" in name and name not in ("api_call",)
    }
    return {name for name in re.findall(r"\b([a-z]+_[A-Za-z_]+)\b", code) if name in methods}


def test_manifest_scopes_and_events_match_what_the_code_calls_and_handles() -> None:
    manifest = yaml.safe_load((ROOT / "slack-manifest.yml").read_text())
    code = _code()
    calls = _web_api_calls(code)
    assert {"chat_postMessage", "assistant_threads_setSuggestedPrompts"} <= calls
    unknown = calls - METHOD_SCOPES.keys()
    assert not unknown, f"add the scope of {unknown} to METHOD_SCOPES and the manifest"
    handled = set(re.findall(r"@app\.event\(\"([a-z_]+)\"\)", code))
    assert {"app_mention", "message", "app_home_opened", "assistant_thread_started"} <= handled
    subscriptions = {
        sub: scope for event in handled for sub, scope in EVENT_SUBSCRIPTIONS[event].items()
    }
    settings = manifest["settings"]
    events = settings["event_subscriptions"]
    assert set(events["bot_events"]) == set(subscriptions)
    needed = {METHOD_SCOPES[call] for call in calls} | set(subscriptions.values())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed - {None}


def test_manifest_turns_the_agent_dm_on() -> None:
    manifest = yaml.safe_load((ROOT / "slack-manifest.yml").read_text())
    features = manifest["features"]
    assert features["agent_view"]["agent_description"]
    assert features["app_home"]["messages_tab_enabled"] is True
    assert features["app_home"]["messages_tab_read_only_enabled"] is False
    settings = manifest["settings"]
    events = settings["event_subscriptions"]
    assert events["request_url"].endswith("/slack/events")
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": events["request_url"],
    }
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
