"""The `deploy` agent: list services and versions, deploy them; production needs approval."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import httpx
from pydantic import BaseModel, Field

from bot.core.agent import Agent, Prefetch, SuggestedPrompt
from bot.core.tools import Tool, ToolContext, ToolError

HERE = Path(__file__).parent
CATALOG_ENV = "HITLBOT_DEPLOY_CATALOG"
"""Path of a JSON file `{service: [versions...]}` that replaces the bundled `catalog.json`."""
DEPLOYS = "deploys"
"""The agent's record of deploys made, one per call id (`AgentStore.once`)."""


class NoArgs(BaseModel):
    """No arguments."""


class ServiceArg(BaseModel):
    service: str = Field(description="Service name, as `list_services` gives it.")


class DeployArgs(BaseModel):
    service: str = Field(description="Service name.")
    version: str = Field(description="Version to deploy, as `list_versions` gives it.")
    environment: Literal["staging", "production"] = Field(description="Where to deploy.")


_read: dict[tuple[Path, int, int], dict[str, list[str]]] = {}
"""The catalog last read, by (path, mtime, size): an edited file is read again."""


def load_catalog() -> dict[str, list[str]]:
    """Services and their deployable versions, from HITLBOT_DEPLOY_CATALOG or the bundled
    sample (a real team would read a registry here); ValueError, with the line, if invalid.
    Read again only when the file changed: reading and parsing it on every tool call was
    ~2.5 % of the worker under the cycle bench (a `stat` is what is left)."""
    path = Path(os.environ.get(CATALOG_ENV) or HERE / "catalog.json")
    try:
        stat = path.stat()
        seen = (path, stat.st_mtime_ns, stat.st_size)
        if seen in _read:
            return _read[seen]
        data: dict[str, list[str]] = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the deploy catalog: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    valid = isinstance(data, dict) and all(
        isinstance(versions, list) and all(isinstance(v, str) for v in versions)
        for versions in data.values()
    )
    if not valid:
        raise ValueError(f"{path}:1: expected {{service: [version strings...]}}")
    _read.clear()
    _read[seen] = data
    return data


async def list_services(args: NoArgs, ctx: ToolContext) -> list[str]:
    return sorted(load_catalog())


async def list_versions(args: ServiceArg, ctx: ToolContext) -> list[str]:
    return list(_versions(args.service))


async def deploy_service(args: DeployArgs, ctx: ToolContext) -> dict[str, str]:
    """Deploy: POST the webhook (if any) with the call id as idempotency key, then record it.

    A call run again after its deploy was recorded (the worker died before the result was
    committed) returns that record and does not POST again.
    """
    if args.version not in _versions(args.service):
        raise ToolError(f"{args.service} has no version {args.version!r}")
    earlier = await ctx.store.recorded(DEPLOYS)
    if earlier is not None:
        return {"status": "deployed", **earlier}
    record = {**args.model_dump(), "call_id": ctx.call_id}
    url = ctx.settings.deploy_webhook_url
    if url:
        try:
            reply = await ctx.http.post(url, json=record, headers={"Idempotency-Key": ctx.call_id})
        except httpx.HTTPError as exc:
            raise ToolError(f"deploy webhook unreachable: {exc}") from exc
        if reply.status_code >= 300:
            raise ToolError(f"deploy webhook answered HTTP {reply.status_code}")
    _, stored = await ctx.store.once(DEPLOYS, record)
    return {"status": "deployed", **stored}


def _versions(service: str) -> list[str]:
    catalog = load_catalog()
    if service not in catalog:
        raise ToolError(f"unknown service {service!r}; known: {', '.join(sorted(catalog))}")
    return catalog[service]


AGENT = Agent(
    name="deploy",
    description="Ships services to staging and production, with approval for production.",
    prompt=HERE / "prompt.md",
    tools=(
        Tool(
            "list_services",
            "List the services that can be deployed.",
            NoArgs,
            list_services,
            status="is checking the deploy catalog…",
        ),
        Tool(
            "list_versions",
            "List a service's deployable versions.",
            ServiceArg,
            list_versions,
            status="is checking the deploy catalog…",
        ),
        Tool(
            "deploy_service",
            "Deploy a version of a service to staging or production.",
            DeployArgs,
            deploy_service,
            approval=lambda args: args.environment == "production",
            status="is deploying…",
        ),
    ),
    prefetch=(Prefetch("list_services"),),
    suggested_prompts=(
        SuggestedPrompt("What can I deploy?", "Which services and versions can I deploy?"),
        SuggestedPrompt("Deploy to staging", "Deploy api 1.4.2 to staging"),
        SuggestedPrompt("Deploy to production", "Deploy web 2.1.0 to production"),
    ),
    check=load_catalog,
)
