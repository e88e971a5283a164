"""`hitlbot eval`: replay each case's model steps against the current prompt and tools.

Every step's request is rendered again from the recorded events before it, with today's code.
Recorded mode (the default) checks the request is unchanged, byte for byte, and feeds the
recorded reply through today's tool validation: it must still be the same call. Live mode
sends today's request to a model through the same adapter and compares its choice with the
recorded one: the same tool, with arguments equal once validated by the tool's model (its
`prose` arguments and the `reason` aside: words for people, never the same twice).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from bot.core.agent import Agent
from bot.core.context import ContextCache, model_input
from bot.core.decide import Chosen, validate_reply
from bot.core.model import REASON_FIELD, Model, ModelCall, ModelOutputError
from bot.core.rebuild import ModelStepAt
from bot.core.thread import Thread
from bot.evals.case import Case, Request, Step, canonical
from bot.evals.record import request_of

Verdict = Literal["ok", "changed", "accepted", "same", "different", "invalid", "unscored"]
FAILING: frozenset[Verdict] = frozenset({"changed", "different", "invalid"})
"""The verdicts that are regressions."""


@dataclass
class StepReport:
    """What became of one recorded step."""

    number: int
    """1-based, in the case."""
    index: int
    """Index of its first event."""
    verdict: Verdict
    """`ok`/`same`: as recorded; `changed`: the request differs; `accepted`: it differed and
    was re-recorded; `different`: the model chose another call; `invalid`: the reply is no
    longer a valid call; `unscored`: the recorded step was a model error, nothing to match."""
    summary: str
    """One line."""
    diff: str = ""
    """A unified diff, where something differs."""

    @property
    def regression(self) -> bool:
        """Whether this step fails the eval."""
        return self.verdict in FAILING


@dataclass
class CaseReport:
    """One case's steps."""

    case: Case
    path: Path
    steps: list[StepReport] = field(default_factory=list)

    @property
    def regressions(self) -> int:
        """Steps that fail."""
        return sum(step.regression for step in self.steps)


class ReplayError(Exception):
    """A case that cannot be replayed against this agent (a tool gone, another agent)."""


def check_against(case: Case, agent: Agent, path: Path) -> None:
    """ReplayError unless the case belongs to `agent` and names only tools it still has."""
    if case.agent != agent.name:
        raise ReplayError(f"{path}:1: the case is for agent {case.agent!r}, not {agent.name!r}")
    tools = agent.local_tools
    for number, step in enumerate(case.steps, 1):
        if step.reply is not None and step.reply.tool not in tools:
            raise ReplayError(
                f"{path}: step {number} calls {step.reply.tool!r}, a tool agent {agent.name} "
                f"no longer has (it has {', '.join(tools)}); record the case again"
            )


def rendered(
    case: Case, agent: Agent, step: Step, prompt: str, cache: ContextCache | None = None
) -> ModelStepAt:
    """The step's input as today's code renders it from the recorded events (`prompt`: the
    text of the agent's `prompt.md` today)."""
    thread = Thread(
        id=case.thread_id,
        agent=case.agent,
        origin=case.origin,
        events=case.events[: step.index],
        created_at=case.events[0].at,  # never rendered: the first event's time will do
    )
    at = case.events[step.index].at
    given = model_input(agent, thread, at, case.context_tokens, prompt=prompt, cache=cache)
    return ModelStepAt(step.index, given)


def replay_recorded(case: Case, agent: Agent, path: Path, accept: bool) -> CaseReport:
    """Recorded mode; with `accept`, a changed request is written into `case` (the caller
    saves it) and counts as accepted, not failed."""
    report = CaseReport(case, path)
    toolsets: dict[str, list[dict[str, Any]]] = {}
    prompt, cache = agent.prompt.read_text(encoding="utf-8"), ContextCache()
    for number, step in enumerate(case.steps, 1):
        now = request_of(rendered(case, agent, step, prompt, cache), toolsets)
        difference = request_diff(case, step.request, now, toolsets, f"{path.name} step {number}")
        if difference and not accept:
            summary = "the request differs from the recorded one"
            report.steps.append(StepReport(number, step.index, "changed", summary, difference))
            continue
        if difference:
            step.request = now
        replayed = _replayed(case, agent, step, number, "accepted" if difference else "ok")
        report.steps.append(replayed)
        if difference and replayed.verdict == "accepted":
            replayed.diff = difference
    if accept:
        used = {step.request.tools for step in case.steps}
        case.toolsets = {
            key: tools for key, tools in {**case.toolsets, **toolsets}.items() if key in used
        }
    return report


def _replayed(case: Case, agent: Agent, step: Step, number: int, verdict: Verdict) -> StepReport:
    """Feed the recorded reply through today's validation: is it still the recorded call?"""
    if step.reply is None:
        return StepReport(number, step.index, verdict, "model error step: request only")
    at = case.events[step.index].at
    chosen = validate_reply(agent, ModelCall(step.reply.tool, step.reply.args), at)
    if not isinstance(chosen, Chosen):
        summary = f"the recorded {step.reply.tool} call is no longer valid: {chosen.message}"
        return StepReport(number, step.index, "invalid", summary)
    recorded = getattr(case.events[step.index], "args", {})
    if chosen.dumped() != recorded:
        diff = _diff(_yaml(recorded), _yaml(chosen.dumped()), "recorded args", "validated now")
        summary = f"{step.reply.tool}: its arguments validate differently now"
        return StepReport(number, step.index, "invalid", summary, diff)
    return StepReport(number, step.index, verdict, f"{step.reply.tool}{_args(chosen.dumped())}")


async def replay_live(case: Case, agent: Agent, path: Path, model: Model) -> CaseReport:
    """Live mode: today's request to `model`; does it choose the recorded call?"""
    report = CaseReport(case, path)
    toolsets: dict[str, list[dict[str, Any]]] = {}
    prompt, cache = agent.prompt.read_text(encoding="utf-8"), ContextCache()
    for number, step in enumerate(case.steps, 1):
        current = rendered(case, agent, step, prompt, cache)
        changed = bool(
            request_diff(case, step.request, request_of(current, toolsets), toolsets, "")
        )
        try:
            reply = await model.next_call(
                system=current.input.system,
                context=current.input.context,
                tools=current.input.tools,
            )
        except ModelOutputError as exc:
            verdict = StepReport(number, step.index, "different", f"no tool call: {exc}")
        else:
            verdict = compare(case, agent, step, number, reply)
        if changed:
            verdict.summary += " (request changed since recording)"
        report.steps.append(verdict)
    return report


def compare(case: Case, agent: Agent, step: Step, number: int, reply: ModelCall) -> StepReport:
    """The live reply against the recorded one (see the module docstring for `same`)."""
    at = case.events[step.index].at
    live = validate_reply(agent, reply, at)
    said = f"{reply.name}{_args(reply.args)}"
    if step.reply is None:
        return StepReport(number, step.index, "unscored", f"recorded a model error; now {said}")
    recorded = validate_reply(agent, ModelCall(step.reply.tool, step.reply.args), at)
    if not isinstance(recorded, Chosen):
        return StepReport(
            number, step.index, "invalid", f"recorded reply invalid: {recorded.message}"
        )
    want = _call(recorded)
    if not isinstance(live, Chosen):
        diff = _diff(
            _yaml(want), _yaml({"tool": reply.name, "args": reply.args}), "recorded", "live"
        )
        return StepReport(
            number, step.index, "different", f"not a valid call: {live.message}", diff
        )
    got = _call(live)
    if _compared(recorded) == _compared(live):
        worded = "" if want == got else " (worded differently)"
        summary = f"{live.tool.name}{_args(live.dumped())}{worded}"
        return StepReport(number, step.index, "same", summary)
    diff = _diff(_yaml(want), _yaml(got), "recorded", "live")
    summary = f"chose {live.tool.name}, recorded {recorded.tool.name}"
    if live.tool.name == recorded.tool.name:
        summary = f"{live.tool.name} with other arguments"
    return StepReport(number, step.index, "different", summary, diff)


def _call(chosen: Chosen) -> dict[str, Any]:
    return {"tool": chosen.tool.name, "args": chosen.dumped()}


def _compared(chosen: Chosen) -> dict[str, Any]:
    """What equivalence looks at: the tool, and its arguments but prose and the reason."""
    skip = {REASON_FIELD, *chosen.tool.prose}
    return {
        "tool": chosen.tool.name,
        "args": {k: v for k, v in chosen.dumped().items() if k not in skip},
    }


def request_diff(
    case: Case,
    recorded: Request,
    current: Request,
    toolsets: dict[str, list[dict[str, Any]]],
    label: str,
) -> str:
    """A unified diff of the two requests ('' when they are the same, byte for byte)."""
    before = _full(recorded, case.toolsets)
    after = _full(current, toolsets)
    if canonical(before) == canonical(after):
        return ""
    diff = _diff(_readable(before), _readable(after), f"recorded ({label})", "rendered now")
    return diff or "(the same text, encoded differently: key order or JSON types)\n"


def _full(request: Request, toolsets: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    data = request.model_dump()
    data["tools"] = toolsets.get(request.tools, [])
    return data


def _readable(request: dict[str, Any]) -> str:
    """The request laid out for a line diff: the texts as text, the rest as JSON."""
    parts = ["== system ==", _blocks(request["system"])]
    for number, message in enumerate(request["messages"]):
        parts += [f"== messages[{number}] ({message.get('role')}) ==", _blocks(message["content"])]
    parts += ["== tools ==", json.dumps(request["tools"], indent=2, ensure_ascii=False)]
    parts += ["== tool_choice ==", json.dumps(request["tool_choice"], ensure_ascii=False)]
    return "\n".join(parts) + "\n"


def _blocks(content: Any) -> str:
    """Text, or text blocks as their text, each cache breakpoint (`bot.llm.cache`) a line."""
    if isinstance(content, str):
        return content
    texts = []
    for block in content:
        if block.get("type") != "text":
            texts.append(json.dumps(block, indent=2, ensure_ascii=False))
            continue
        marked = {k: v for k, v in block.items() if k not in ("type", "text")}
        texts.append(block["text"] + (f"\n[{json.dumps(marked)}]" if marked else ""))
    return "".join(texts)


def _diff(before: str, after: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), old, new
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _args(args: dict[str, Any]) -> str:
    shown = {k: v for k, v in args.items() if k != REASON_FIELD}
    text = json.dumps(shown, ensure_ascii=False)
    return f" {text if len(text) <= 70 else text[:69] + '…'}"


def describe(reports: Sequence[CaseReport], live: bool) -> str:
    """The per-case, per-step report, as `hitlbot eval` prints it."""
    lines = []
    for report in reports:
        mark = "FAIL" if report.regressions else "ok"
        lines.append(f"{mark:<4} {report.case.name}  ({_shown(report.path)})")
        for step in report.steps:
            where = f"events[{step.index}]"
            lines.append(f"     step {step.number:<2} {where:<11} {step.verdict:<9} {step.summary}")
            if step.diff and (step.regression or step.verdict == "accepted"):
                lines += [f"       {line}" for line in step.diff.rstrip("\n").split("\n")]
    failed = sum(1 for r in reports if r.regressions)
    steps = sum(len(r.steps) for r in reports)
    mode = "live" if live else "recorded"
    lines.append(
        f"{len(reports)} case(s), {steps} step(s), {mode} mode: "
        + (f"{failed} case(s) regressed" if failed else "no regressions")
    )
    return "\n".join(lines)


def _shown(path: Path) -> str:
    """The path from the working directory when it is under it (as a person types it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
