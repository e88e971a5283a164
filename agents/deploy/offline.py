"""Offline rules for the `deploy` agent: "deploy SERVICE VERSION to ENV", asking what is missing.

Rules, in order: report a deploy this turn already led to (done, rejected with its reason,
failed); list services if unknown; ask for the service; list its versions; ask for a version
it has; ask for the environment; deploy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.model import ModelCall
from bot.llm.offline.eventlog import Entry, Outcome, current_turn, human_text, last_match, outcomes
from bot.llm.offline.rules import Rules, ask, call, done

_VERSION = re.compile(r"\bv?(\d+(?:\.\d+)+)\b")
_ENVIRONMENT = re.compile(r"\b(production|prod|staging|stage)\b", re.IGNORECASE)


def decide(entries: Sequence[Entry]) -> ModelCall:
    """The deploy agent's next call."""
    turn = current_turn(entries)
    deploys = outcomes(turn, "deploy_service")
    if deploys:
        return _report(deploys[-1])
    services = _services(entries)
    if services is None:
        return call("list_services", "to know what can be deployed")
    text = human_text(turn)
    service = _service(text, services)
    if service is None:
        return ask("Which service should I deploy?", services)
    versions = _versions(turn, service)
    if versions is None:
        return call("list_versions", f"to check which versions of {service} exist", service=service)
    version = last_match(_VERSION, text)
    newest_first = list(reversed(versions))
    if version is None:
        return ask(f"Which version of {service}?", newest_first)
    if version not in versions:
        return ask(f"{service} has no version {version}. Which one?", newest_first)
    environment = _environment(text)
    if environment is None:
        return ask(
            f"Deploy {service} {version} to staging or production?", ["staging", "production"]
        )
    return call(
        "deploy_service",
        f"asked to deploy {service} {version} to {environment}",
        service=service,
        version=version,
        environment=environment,
    )


def _report(outcome: Outcome) -> ModelCall:
    args = outcome.args
    what = f"{args.get('service')} {args.get('version')} to {args.get('environment')}"
    if outcome.edited is not None:
        what += " (as the approver edited it)"
    if outcome.rejected:
        why = f": {outcome.comment}" if outcome.comment else " (no reason given)"
        return done(
            f"I did not deploy {what}: the approver rejected it{why}. What should I do next?"
        )
    if outcome.error is not None:
        return done(f"The deploy of {what} failed: {outcome.error}")
    if outcome.result is not None:
        return done(f"Deployed {what}.")
    # A call with no outcome is still open: the loop runs it before asking again.
    return done(f"The deploy of {what} is still in progress.")


def _services(entries: Sequence[Entry]) -> list[str] | None:
    for entry in reversed(entries):
        if entry.tag == "list_services_result" and isinstance(entry.data, list):
            return [str(name) for name in entry.data]
    return None


def _service(text: str, services: Sequence[str]) -> str | None:
    best: tuple[int, str] | None = None
    for name in services:
        for match in re.finditer(rf"\b{re.escape(name)}\b", text, re.IGNORECASE):
            if best is None or match.start() > best[0]:
                best = (match.start(), name)
    return None if best is None else best[1]


def _versions(turn: Sequence[Entry], service: str) -> list[str] | None:
    for outcome in reversed(outcomes(turn, "list_versions")):
        args = outcome.call.data if isinstance(outcome.call.data, dict) else {}
        if args.get("service") == service and isinstance(outcome.result, list):
            return [str(version) for version in outcome.result]
    return None


def _environment(text: str) -> str | None:
    found = last_match(_ENVIRONMENT, text)
    if found is None:
        return None
    return "production" if found.lower().startswith("prod") else "staging"


RULES = Rules(
    agent="deploy",
    tools=frozenset({"list_services", "list_versions", "deploy_service"}),
    decide=decide,
)
