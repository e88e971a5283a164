"""The `deploy` agent: list services and versions, deploy them; production needs approval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import httpx
from pydantic import BaseModel, Field

from bot.agent import Agent, Prefetch
from bot.tools import Tool, ToolContext, ToolError

HERE = Path(__file__).parent
CATALOG = json.loads((HERE / "catalog.json").read_text(encoding="utf-8"))
"""Services and their deployable versions (a real team would read a registry here)."""
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


async def list_services(args: NoArgs, ctx: ToolContext) -> list[str]:
    return sorted(CATALOG)


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
    url = ctx.deps.settings.deploy_webhook_url
    if url:
        try:
            reply = await ctx.deps.http.post(
                url, json=record, headers={"Idempotency-Key": ctx.call_id}
            )
        except httpx.HTTPError as exc:
            raise ToolError(f"deploy webhook unreachable: {exc}") from exc
        if reply.status_code >= 300:
            raise ToolError(f"deploy webhook answered HTTP {reply.status_code}")
    _, stored = await ctx.store.once(DEPLOYS, record)
    return {"status": "deployed", **stored}


def _versions(service: str) -> list[str]:
    if service not in CATALOG:
        raise ToolError(f"unknown service {service!r}; known: {', '.join(sorted(CATALOG))}")
    versions: list[str] = CATALOG[service]
    return versions


AGENT = Agent(
    name="deploy",
    description="Ships services to staging and production, with approval for production.",
    prompt=HERE / "prompt.md",
    tools=(
        Tool("list_services", "List the services that can be deployed.", NoArgs, list_services),
        Tool("list_versions", "List a service's deployable versions.", ServiceArg, list_versions),
        Tool(
            "deploy_service",
            "Deploy a version of a service to staging or production.",
            DeployArgs,
            deploy_service,
            approval=lambda args: args.environment == "production",
        ),
    ),
    prefetch=(Prefetch("list_services"),),
)
