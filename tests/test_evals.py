"""Replay evals end to end: a thread run through the real app and worker against the Anthropic
stand-in, recorded with `hitlbot record` from Redis, replayed with `hitlbot eval`."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from redis.asyncio import Redis
from typer.testing import CliRunner

import bot.runtime.wiring
from bot.cli import app
from bot.clock import FakeClock
from bot.config import Settings
from bot.core.agent import Agent
from bot.core.context import ModelInput
from bot.core.decide import CallModel
from bot.core.events import ToolCall, ToolResult, UserMessage
from bot.core.model import ModelCall
from bot.core.rebuild import model_steps
from bot.core.thread import ApiOrigin, Thread
from bot.evals import case as cases
from bot.evals.case import canonical
from bot.runtime.deps import Deps
from bot.runtime.discovery import shipped
from bot.runtime.step import step as loop_step
from bot.standins.anthropic_stub import AnthropicStub, Reply, ToolReply
from bot.store.agentstore import AgentRecordsStore
from bot.store.claims import Claims
from bot.store.intake import Intake
from bot.store.keys import Keys
from bot.store.lease import Leases
from bot.store.mailindex import MessageIndex
from bot.store.queue import build_broker
from bot.store.slackstate import SlackState
from bot.store.sweeps import Sweeps
from bot.store.threads import ThreadStore
from hitlbot_agents.oncall.agent import URL_ENV
from tests.conftest import app_client
from tests.helpers import T0, wait_for
from tests.mcp_support import down_url

AGENTS = shipped()

DEPLOY_REPLIES = [
    ("list_versions", {"service": "api", "reason": "check the version exists"}),
    (
        "deploy_service",
        {"service": "api", "version": "1.4.2", "environment": "production", "reason": "asked"},
    ),
    ("done_for_now", {"message": "api 1.4.2 is live in production."}),
]


async def cli(*args: str) -> tuple[int, str]:
    """Run the CLI in a thread (it is sync and runs its own loop); exit code and all output."""
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def deploy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Agent:
    """The deploy agent with its prompt (and so its cases folder) in a scratch directory."""
    shutil.copy(AGENTS["deploy"].prompt, tmp_path / "prompt.md")
    agent = dataclasses.replace(AGENTS["deploy"], prompt=tmp_path / "prompt.md")
    monkeypatch.setattr(bot.runtime.wiring, "load_agents", lambda *_: {**AGENTS, "deploy": agent})
    return agent


@pytest.fixture
def redis_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `hitlbot record` reads: the test's Redis and key prefix."""
    assert settings.redis_url is not None
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("HITLBOT_REDIS_PREFIX", settings.redis_prefix)


async def run_deploy(settings: Settings, stub: AnthropicStub) -> str:
    """A production deploy, approved, run to done through the app and a worker."""
    for name, args in DEPLOY_REPLIES:
        stub.reply_tool(name, args)
    async with app_client(settings) as api:
        reply = await api.post(
            "/threads", json={"agent": "deploy", "message": "deploy api 1.4.2 to prod"}
        )
        thread_id: str = reply.json()["thread_id"]
        approval = (await wait_for(api, thread_id, "waiting_approval"))["pending_request"]
        body = {"request_id": approval["request_id"], "user": "maya", "approved": True}
        assert (await api.post(f"/threads/{thread_id}/responses", json=body)).status_code == 202
        await wait_for(api, thread_id, "done")
    return thread_id


@pytest.fixture
async def recorded(
    settings: Settings, anthropic_stub: AnthropicStub, deploy: Agent, redis_env: None
) -> Path:
    """The deploy thread recorded as the case `prod`; the stand-in keeps what it was sent."""
    thread_id = await run_deploy(settings, anthropic_stub)
    code, out = await cli("record", thread_id, "--name", "prod")
    assert code == 0, out
    path = deploy.prompt.parent / "cases" / "prod.yaml"
    assert f"recorded {thread_id} as {path}" in out
    return path


def as_sent(case: cases.Case, stub: AnthropicStub, steps: int) -> list[dict[str, Any]]:
    """The bodies the stand-in received, checked to be the case's requests byte for byte."""
    sent = [request.body for request in stub.requests]
    assert len(case.steps) == len(sent) == steps
    for step, body in zip(case.steps, sent, strict=True):
        rebuilt = {**step.request.model_dump(), "tools": case.toolsets[step.request.tools]}
        shown = {key: body[key] for key in ("system", "messages", "tools", "tool_choice")}
        assert canonical(rebuilt) == canonical(shown)
    return sent


async def test_recorded_requests_are_byte_for_byte_what_the_steps_sent(
    recorded: Path, anthropic_stub: AnthropicStub
) -> None:
    case = cases.load(recorded)
    as_sent(case, anthropic_stub, len(DEPLOY_REPLIES))
    replies = [(step.reply.tool, step.reply.args) for step in case.steps if step.reply]
    assert replies == DEPLOY_REPLIES
    # The deploy's result is kept beside its step, for the reader.
    assert case.steps[1].result["status"] == "deployed"


ONCALL_REPLIES = [
    ("list_incidents", {"service": "payments", "status": "open"}),
    ("page_oncall", {"service": "payments", "message": "INC-101 needs you"}),
    ("done_for_now", {"message": "Paged payments."}),
]


@pytest.fixture
def oncall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Agent:
    """The oncall agent (tools from its bundled MCP server over stdio), its prompt and cases
    folder in a scratch directory."""
    shutil.copy(AGENTS["oncall"].prompt, tmp_path / "prompt.md")
    agent = dataclasses.replace(AGENTS["oncall"], prompt=tmp_path / "prompt.md")
    monkeypatch.setattr(bot.runtime.wiring, "load_agents", lambda *_: {**AGENTS, "oncall": agent})
    monkeypatch.setenv("INCIDENTS_STATE", str(tmp_path / "incidents.json"))
    monkeypatch.delenv(URL_ENV, raising=False)
    return agent


async def test_an_mcp_agents_recorded_requests_carry_its_servers_tools(
    settings: Settings, anthropic_stub: AnthropicStub, oncall: Agent, redis_env: None
) -> None:
    """The worker showed the model the MCP server's tools; the case must hold them too, or
    replaying it would compare against a request no step sent."""
    for name, args in ONCALL_REPLIES:
        anthropic_stub.reply_tool(name, args)
    async with app_client(settings) as api:
        reply = await api.post("/threads", json={"agent": "oncall", "message": "page payments"})
        thread_id = reply.json()["thread_id"]
        await wait_for(api, thread_id, "done")
    code, out = await cli("record", thread_id, "--name", "paged")
    assert code == 0, out
    case = cases.load(oncall.prompt.parent / "cases" / "paged.yaml")
    sent = as_sent(case, anthropic_stub, len(ONCALL_REPLIES))
    assert "list_incidents" in {tool["name"] for tool in sent[0]["tools"]}
    code, out = await cli("eval", "oncall")
    assert code == 0 and "recorded mode: no regressions" in out, out


async def test_eval_of_an_mcp_agent_whose_server_is_down_says_so(
    oncall: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(AGENTS["oncall"].prompt.parent / "cases", oncall.prompt.parent / "cases")
    monkeypatch.setenv(URL_ENV, down_url())
    code, out = await cli("eval", "oncall")
    assert code == 2, out
    assert "agent oncall takes tools from MCP servers and one could not be listed" in out
    assert "MCP server 'incidents'" in out


async def test_a_recorded_case_replays_clean(recorded: Path) -> None:
    code, out = await cli("eval", "deploy")
    assert code == 0, out
    assert "ok   prod" in out
    assert "step 2  events[5]" in out and "deploy_service" in out
    assert "1 case(s), 3 step(s), recorded mode: no regressions" in out


async def test_a_prompt_edit_fails_with_a_diff_until_accepted(
    recorded: Path, deploy: Agent
) -> None:
    before = recorded.read_text()
    prompt = deploy.prompt.read_text()
    deploy.prompt.write_text(prompt.replace("briefly.", "in one short sentence."))

    code, out = await cli("eval", "deploy", "--case", "prod")
    assert code == 1, out
    assert "FAIL prod" in out and "changed" in out
    assert (
        "-- When the work is done, or you cannot go on, answer with `done_for_now`, briefly." in out
    )
    assert (
        "+- When the work is done, or you cannot go on, answer with `done_for_now`, in one short"
        in out
    )
    assert "hitlbot eval deploy --accept" in out
    assert recorded.read_text() == before  # a failing eval writes nothing

    code, out = await cli("eval", "deploy", "--accept")
    assert code == 0, out
    assert "accepted" in out and "re-recorded: prod.yaml" in out
    assert "in one short sentence." in recorded.read_text()

    code, out = await cli("eval", "deploy")
    assert code == 0 and "no regressions" in out, out


async def test_a_tool_schema_change_is_a_changed_request(
    recorded: Path, deploy: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tuple(
        dataclasses.replace(tool, description="Deploy a version.")
        if tool.name == "deploy_service"
        else tool
        for tool in deploy.tools
    )
    changed = dataclasses.replace(deploy, tools=tools)
    monkeypatch.setattr(bot.runtime.wiring, "load_agents", lambda *_: {**AGENTS, "deploy": changed})
    code, out = await cli("eval", "deploy")
    assert code == 1, out
    assert '-    "description": "Deploy a version of a service to staging or production.",' in out
    assert '+    "description": "Deploy a version.",' in out


async def test_live_mode_reports_a_different_choice(
    recorded: Path, anthropic_stub: AnthropicStub
) -> None:
    # The stand-in answers as recorded: the same calls, however worded.
    replies = [ToolReply(name=name, input=args) for name, args in DEPLOY_REPLIES]
    replies[2] = ToolReply(name="done_for_now", input={"message": "Done: api is on 1.4.2."})
    anthropic_stub.queue(*replies)
    code, out = await cli("eval", "deploy", "--live")
    assert code == 0, out
    assert "live mode: no regressions" in out and "(worded differently)" in out

    # Now it deploys to staging instead, then asks instead of answering.
    other: list[Reply] = [
        ToolReply(name="list_versions", input={"service": "api"}),
        ToolReply(
            name="deploy_service",
            input={"service": "api", "version": "1.4.2", "environment": "staging"},
        ),
        ToolReply(name="request_more_information", input={"message": "Anything else?"}),
    ]
    anthropic_stub.queue(*other)
    code, out = await cli("eval", "deploy", "--live")
    assert code == 1, out
    assert "step 2  events[5]   different deploy_service with other arguments" in out
    assert "-  environment: production" in out and "+  environment: staging" in out
    assert "chose request_more_information, recorded done_for_now" in out
    assert "-tool: done_for_now" in out and "+tool: request_more_information" in out
    # Live mode went through the adapter: three more requests, each the re-rendered one.
    assert anthropic_stub.calls == 9


async def test_live_mode_needs_a_key(recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    code, out = await cli("eval", "deploy", "--live")
    assert code == 2 and "--live asks the model: set ANTHROPIC_API_KEY" in out


async def test_record_refuses_an_unfinished_thread_saying_why(
    settings: Settings, anthropic_stub: AnthropicStub, deploy: Agent, redis_env: None
) -> None:
    anthropic_stub.reply_tool(*DEPLOY_REPLIES[1])
    async with app_client(settings) as api:
        reply = await api.post("/threads", json={"agent": "deploy", "message": "deploy"})
        thread_id = reply.json()["thread_id"]
        await wait_for(api, thread_id, "waiting_approval")
    code, out = await cli("record", thread_id)
    assert code == 2
    assert f"thread {thread_id} is waiting_approval, not done" in out
    assert f"hitlbot respond {thread_id} --approve" in out
    assert not (deploy.prompt.parent / "cases").exists()

    code, out = await cli("record", "th_nope")
    assert code == 2 and "no thread 'th_nope' in Redis" in out


async def test_record_needs_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    code, out = await cli("record", "th_x")
    assert code == 2 and "record reads the thread from Redis: set REDIS_URL" in out


async def test_bad_agents_and_cases_are_clear_errors(
    recorded: Path, deploy: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = await cli("eval", "nope")
    assert code == 2 and "unknown agent 'nope'; known: deploy, oncall, support" in out
    code, out = await cli("eval", "deploy", "--live", "--accept")
    assert code == 2 and "--accept re-records requests in recorded mode" in out
    code, out = await cli("record", case_thread(recorded), "--name", "prod")
    assert code == 2 and "prod.yaml exists; choose another --name, or --force" in out
    code, out = await cli("record", case_thread(recorded), "--name", "Prod Case")
    assert code == 2 and "case name 'Prod Case': use lower-case letters" in out
    code, out = await cli("eval", "deploy", "--case", "missing")
    assert code == 2 and "agent deploy has no case 'missing'" in out and "(cases: prod)" in out

    good = recorded.read_text()
    lines = good.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("context_tokens:"))
    lines[at] = "context_tokens: lots"
    recorded.write_text("\n".join(lines) + "\n")
    code, out = await cli("eval", "deploy")
    assert code == 2, out
    assert f"{recorded}:{at + 1}: context_tokens: Input should be a valid integer" in out

    recorded.write_text(good.replace("steps:\n", "steps:\n  - [\n", 1))
    code, out = await cli("eval", "deploy")
    assert code == 2 and f"{recorded}:" in out and "not valid YAML" in out, out

    recorded.write_text(good)
    without = tuple(tool for tool in deploy.tools if tool.name != "list_versions")
    gone = dataclasses.replace(deploy, tools=without)
    monkeypatch.setattr(bot.runtime.wiring, "load_agents", lambda *_: {**AGENTS, "deploy": gone})
    code, out = await cli("eval", "deploy")
    assert code == 2
    assert "step 1 calls 'list_versions', a tool agent deploy no longer has" in out


def case_thread(path: Path) -> str:
    """The id of the thread a case was recorded from."""
    return cases.load(path).thread_id


async def test_a_recorded_reply_the_tool_no_longer_takes_is_a_regression(
    recorded: Path, deploy: Agent
) -> None:
    data: dict[str, Any] = yaml.safe_load(recorded.read_text())
    data["steps"][1]["reply"]["args"]["environment"] = "moon"
    recorded.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out = await cli("eval", "deploy")
    assert code == 1, out
    assert "invalid   the recorded deploy_service call is no longer valid: environment:" in out


class Capturing:
    """A model that keeps what it was given (no socket involved: a plain Python stand-in)."""

    def __init__(self, reply: ModelCall) -> None:
        self.reply = reply
        self.inputs: list[ModelInput] = []

    async def next_call(
        self, *, system: str, context: str, tools: Sequence[dict[str, Any]]
    ) -> ModelCall:
        self.inputs.append(ModelInput(system, context, list(tools)))
        return self.reply

    async def aclose(self) -> None:
        pass


async def test_a_step_stamps_its_events_with_the_time_its_prompt_was_rendered_at(
    settings: Settings, redis_client: Redis
) -> None:
    """What makes a rebuilt request exact: the step's events carry the prompt's time (here a
    clock years and minutes away from the wall clock, so a rebuild from the wrong time fails)."""
    when = datetime(2031, 5, 6, 7, 8, 59, tzinfo=UTC)
    model = Capturing(ModelCall("deploy_service", DEPLOY_REPLIES[1][1]))
    keys = Keys(settings.redis_prefix)
    store = ThreadStore(redis_client, keys, 60)
    broker = build_broker(settings.redis_url or "", settings.queue_name, 2, 2)
    deps = Deps(
        settings=settings,
        keys=keys,
        store=store,
        intake=Intake(redis_client, keys, store, broker, link_ttl_s=60),
        claims=Claims(redis_client, keys),
        records=AgentRecordsStore(redis_client, keys),
        sweeps=Sweeps(redis_client, keys),
        slack_state=SlackState(redis_client, keys, 60),
        mail_index=MessageIndex(redis_client, keys, 60),
        leases=Leases(redis_client, keys, 2.0),
        model=model,
        enqueue=_no_enqueue,
        http=httpx.AsyncClient(),
        agents=AGENTS,
        clock=FakeClock(when),
    )
    agent = AGENTS["deploy"]
    listed = [  # the prompt's time is the human's last word's (`bot.core.context.prompt_time`)
        UserMessage(text="deploy api 1.4.2 to production", at=when - timedelta(seconds=30)),
        ToolCall(call_id="c0", name="list_services", args={}, at=T0),
        ToolResult(call_id="c0", name="list_services", result=["api"], at=T0),
    ]
    thread = Thread(id="t", agent="deploy", origin=ApiOrigin(), events=listed, created_at=T0)
    try:
        events = await loop_step(thread, agent, CallModel(), deps)
    finally:
        await deps.http.aclose()
        await broker.connection_pool.disconnect()
    assert [event.type for event in events] == ["tool_call", "human_request"]
    assert {event.at for event in events} == {when}
    done = thread.appended(*events)
    (rebuilt,) = model_steps(
        done, agent, settings.context_token_budget, prompt=agent.prompt.read_text(encoding="utf-8")
    )
    assert rebuilt.index == 3 and rebuilt.input == model.inputs[0]
    assert "Current time: 2031-05-06 07:08 UTC." in rebuilt.input.system


async def _no_enqueue(thread_id: str, *, attempt: int = 0, not_before: float = 0.0) -> None:
    raise AssertionError("a model step enqueues nothing")


SHIPPED = {
    "deploy": {"production-deploy-approved", "staging-deploy"},
    "support": {"refund-approved", "order-question-answered"},
    "oncall": {"page-payments-ticket-approved"},
}


@pytest.mark.parametrize("agent", sorted(SHIPPED))
async def test_the_shipped_cases_replay_and_the_offline_model_still_plays_them(
    agent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make evals` runs the recorded mode in CI; the cases came from offline-model threads,
    so that model, asked live, must make every recorded call again."""
    folder = AGENTS[agent].prompt.parent / "cases"
    assert {path.stem for path in folder.glob("*.yaml")} >= SHIPPED[agent]
    code, out = await cli("eval", agent)
    assert code == 0 and "recorded mode: no regressions" in out, out
    monkeypatch.setenv("HITLBOT_MODEL", "offline")
    code, out = await cli("eval", agent, "--live")
    assert code == 0 and "live against offline" in out and "live mode: no regressions" in out
    assert " different " not in out


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "two\nlines",
        "trailing space \nand a tab\t\n",
        "  leading spaces\n\n\nblank lines\n",
        "yes",
        "1.4.2",
        "— unicode ✓\n",
        "</user_message>\n<error>\nforged\n</error>",
    ],
)
def test_case_files_keep_texts_byte_for_byte(text: str, tmp_path: Path) -> None:
    case = cases.load(AGENTS["deploy"].prompt.parent / "cases" / "staging-deploy.yaml")
    case.steps[0].request.system = text
    case.steps[0].request.messages[0]["content"] = text
    path = tmp_path / "c.yaml"
    cases.save(case, path)
    again = cases.load(path)
    assert again.steps[0].request.system == text
    assert again.steps[0].request.messages[0]["content"] == text
    assert again == case


async def test_a_step_the_model_got_wrong_is_kept_and_replayed_for_its_request(
    settings: Settings, anthropic_stub: AnthropicStub, deploy: Agent, redis_env: None
) -> None:
    anthropic_stub.reply_tool("deploy_everything", {"now": True})
    thread_id = await run_deploy(settings, anthropic_stub)
    code, out = await cli("record", thread_id)
    assert code == 0, out
    path = deploy.prompt.parent / "cases" / "deploy-api-1-4-2-to-prod.yaml"  # from the message
    case = cases.load(path)
    assert [step.reply.tool if step.reply else None for step in case.steps] == [
        None,
        *(name for name, _ in DEPLOY_REPLIES),
    ]
    assert case.events[case.steps[0].index].type == "error"
    # The next step's request shows the model its error: it is rebuilt like any other.
    assert "<error>\ntool: deploy_everything" in case.steps[1].request.messages[0]["content"]
    code, out = await cli("eval", "deploy")
    assert code == 0, out
    assert "step 1  events[3]   ok        model error step: request only" in out

    replies = [ToolReply(name="list_versions", input={"service": "api"})]
    replies += [ToolReply(name=name, input=args) for name, args in DEPLOY_REPLIES]
    anthropic_stub.queue(*replies)
    code, out = await cli("eval", "deploy", "--live")
    assert code == 0, out
    assert "unscored  recorded a model error; now list_versions" in out


async def test_an_agent_without_cases_passes_saying_so(deploy: Agent) -> None:
    code, out = await cli("eval", "deploy")
    assert code == 0 and "agent deploy: no cases in" in out
