"""The operator's policy file (`HITLBOT_POLICY`): approval rules per agent and tool.

TOML or YAML, by extension:

    [deploy.deploy_service]          # deploy:
    approvers = ["U0SRE1", "U0SRE2"] #   deploy_service:
    quorum = 2                       #     approvers: [U0SRE1, U0SRE2]
    self_approval = false            #     quorum: 2

A file that cannot be read, or that names an unknown agent, tool or field, is refused with
its path, the line and the reason, before any process starts.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from bot.core.agent import Agent
from bot.core.policy import Policy, Rule


class PolicyError(Exception):
    """The policy file is invalid; the message says where and why."""


def _seconds(value: Any) -> Any:
    """`90`, `"90s"`, `"10m"`, `"2h"`, `"1d"` as seconds; anything else is left to fail."""
    if isinstance(value, str):
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
        if found is None:
            raise ValueError("a duration is seconds, or a number with s, m, h or d")
        unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[found.group(2)]
        return float(found.group(1)) * unit
    return value


MAX_DURATION_S = 3650 * 86400.0
"""Longest deadline a rule may set (ten years): beyond it a deadline's date overflows."""

Duration = Annotated[float, BeforeValidator(_seconds), Field(gt=0, le=MAX_DURATION_S)]


class RuleSpec(BaseModel):
    """One tool's rule as written in the file."""

    model_config = ConfigDict(extra="forbid")
    approval: bool | None = None
    """Whether the tool's calls need approval at all, over the tool's own say (e.g. an MCP
    tool's annotations); unset keeps the tool's."""
    approvers: list[str] = Field(default_factory=list)
    """Slack user ids who may decide (narrowing SLACK_APPROVERS when that is set)."""
    groups: list[Annotated[str, Field(pattern=r"^S[A-Z0-9]{2,}$")]] = Field(default_factory=list)
    """Slack user group ids (`S…`) whose members may decide."""
    quorum: int = Field(default=1, ge=1, le=20)
    """Distinct approvals needed."""
    self_approval: bool = False
    """Whether the thread's own human may approve."""
    remind_after: Duration | None = None
    """When to remind the approvers of a pending approval: seconds, or `10m`, `2h`, `1d`."""
    escalate_after: Duration | None = None
    """When to post a pending approval's card again to `escalate_to`."""
    escalate_to: str | None = Field(default=None, pattern=r"^[CGDUW][A-Z0-9]{2,}$")
    """Slack channel or user id (`C…`, `U…`) of the escalation."""
    expire_after: Duration | None = None
    """When a pending request expires (an approval is rejected, "expired")."""


def load_policy(path: str | None, agents: Mapping[str, Agent]) -> Policy:
    """The policy in `path` (none: the agents' own rules); PolicyError if it is invalid."""
    if not path:
        return Policy()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc.strerror}") from None
    yaml_file = file.suffix.lower() in (".yaml", ".yml")
    data = _parse_yaml(path, text) if yaml_file else _parse_toml(path, text)
    rules: dict[tuple[str, str], Rule] = {}
    for agent_name, tools in data.items():
        where = _locator(path, text, yaml_file)
        agent = agents.get(agent_name)
        if agent is None:
            known = ", ".join(sorted(agents))
            raise PolicyError(f"{where(agent_name)}: no agent {agent_name!r} (known: {known})")
        if not isinstance(tools, dict):
            raise PolicyError(f"{where(agent_name)}: expected a table of tools")
        for tool_name, spec in tools.items():
            # Built-ins too (a question's deadlines); an MCP server's tools are not known
            # before a worker lists them, so an agent with servers takes any name.
            if tool_name not in agent.local_tools and not agent.mcp and not agent.external:
                known = ", ".join(agent.local_tools)
                raise PolicyError(
                    f"{where(agent_name, tool_name)}: agent {agent_name!r} has no tool "
                    f"{tool_name!r} (its tools: {known})"
                )
            rules[(agent_name, tool_name)] = _rule(spec, where, agent_name, tool_name)
    return Policy(rules)


def _rule(spec: Any, where: Any, agent: str, tool: str) -> Rule:
    try:
        parsed = RuleSpec.model_validate(spec)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        path = (agent, tool, *(str(part) for part in error["loc"][:1]))
        raise PolicyError(f"{where(*path)}: {agent}.{tool}.{field}: {error['msg']}") from None
    if (parsed.escalate_after is None) != (parsed.escalate_to is None):
        raise PolicyError(
            f"{where(agent, tool)}: {agent}.{tool}: escalate_after and escalate_to go together"
        )
    listed = set(parsed.approvers)
    if listed and not parsed.groups and parsed.quorum > len(listed):
        raise PolicyError(
            f"{where(agent, tool, 'quorum')}: {agent}.{tool}: a quorum of {parsed.quorum} can "
            f"never be met by the {len(listed)} approvers listed"
        )
    return Rule(
        tuple(parsed.approvers),
        tuple(parsed.groups),
        parsed.quorum,
        parsed.self_approval,
        remind_after=parsed.remind_after,
        escalate_after=parsed.escalate_after,
        escalate_to=parsed.escalate_to,
        expire_after=parsed.expire_after,
        approval=parsed.approval,
    )


def _parse_toml(path: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        line = f":{found.group(1)}" if found else ""
        raise PolicyError(f"{path}{line}: not valid TOML: {exc}") from None


def _parse_yaml(path: str, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{path}{line}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyError(f"{path}:1: expected a mapping of agents to tools")
    return data


def _locator(path: str, text: str, yaml_file: bool) -> Any:
    """`where(*keys)`: `path:line` of the deepest of `keys` the file spells out."""
    lines = text.splitlines()

    def where(*keys: str) -> str:
        line = _yaml_line(lines, keys) if yaml_file else _toml_line(lines, keys)
        return f"{path}:{line}" if line else path

    return where


def _toml_line(lines: list[str], keys: tuple[str, ...]) -> int | None:
    """The line of `[agent.tool]` (or `[agent]`), then of the key under it."""
    found: int | None = None
    for depth in (2, 1):
        dotted = r"\s*\.\s*".join(map(re.escape, keys[:depth]))
        header = re.compile(r"\s*\[\s*" + dotted + r"\s*[\].]")
        found = next((i for i, line in enumerate(lines) if header.match(line)), None)
        if found is not None:
            break
    if found is None:
        return None
    if len(keys) > 2:
        key = re.compile(rf"\s*{re.escape(keys[2])}\s*=")
        for index in range(found + 1, len(lines)):
            if lines[index].lstrip().startswith("["):
                break
            if key.match(lines[index]):
                return index + 1
    return found + 1


def _yaml_line(lines: list[str], keys: tuple[str, ...]) -> int | None:
    """The line of the deepest of `keys`, found by indentation-nested `key:` lines."""
    start, indent, found = 0, -1, None
    for key in keys:
        pattern = re.compile(rf"(\s*){re.escape(key)}\s*:")
        for index in range(start, len(lines)):
            match = pattern.match(lines[index])
            if match and len(match.group(1)) > indent:
                start, indent, found = index + 1, len(match.group(1)), index + 1
                break
        else:
            break
    return found
