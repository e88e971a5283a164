"""Offline rules for the `oncall` agent: "page the on-call for SERVICE", "ack INC-101".

Paging, in order: report a ticket this turn already led to; ask for the service; list its open
incidents; have a human pick one when there are several (`request_choice`); page the on-call;
open a follow-up ticket (which waits for approval); report. Acknowledging: acknowledge the
named incident, then report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.core.model import ModelCall
from bot.llm.offline.eventlog import Entry, Outcome, current_turn, human_text, last_match, outcomes
from bot.llm.offline.rules import Rules, ask, call, done

_INCIDENT = re.compile(r"\b(INC-\d+)\b", re.IGNORECASE)
_SERVICE = re.compile(r"\bfor\s+(?:the\s+)?([a-z][\w-]*)", re.IGNORECASE)
_ACK = re.compile(r"\b(ack|acknowledge)\b", re.IGNORECASE)
NEW_PROBLEM = "None of these: a new problem"
"""The choice that says the page is about something not yet an incident."""
_PRIORITY = {"SEV1": "P1", "SEV2": "P2", "SEV3": "P3"}


def decide(entries: Sequence[Entry]) -> ModelCall:
    """The oncall agent's next call."""
    turn = current_turn(entries)
    text = human_text(turn)
    if _ACK.search(text) and last_match(_INCIDENT, text):
        return _acknowledge(turn, last_match(_INCIDENT, text) or "")
    tickets = outcomes(turn, "open_ticket")
    if tickets:
        return _report(tickets[-1], outcomes(turn, "page_oncall"))
    asked = next((e.text for e in turn if e.tag == "user_message"), text)
    service = last_match(_SERVICE, asked)  # from the request, not from a picked title
    if service is None:
        return ask("Whose on-call should I page? Name the service, e.g. payments.")
    service = service.lower()
    incidents = _listed(turn, service)
    if incidents is None:
        return call("list_incidents", f"to see {service}'s open incidents", service=service)
    incident = _chosen(text, incidents)
    if incident is None and len(incidents) > 1 and NEW_PROBLEM not in text:
        options = [f"{i['id']}: {i['title']}" for i in incidents][:9]
        return call(
            "request_choice",
            "several incidents are open",
            message=f"{service} has {len(incidents)} open incidents. Which one is the page about?",
            choices=[*options, NEW_PROBLEM],
        )
    if incident is None and len(incidents) == 1 and NEW_PROBLEM not in text:
        incident = incidents[0]
    pages = outcomes(turn, "page_oncall")
    if not pages:
        return _page(service, incident)
    if pages[-1].error is not None:
        return done(f"I could not page {service}'s on-call: {pages[-1].error}")
    if pages[-1].result is None:
        return done(f"The page to {service}'s on-call is still in progress.")
    return _ticket(service, incident)


def _page(service: str, incident: dict[str, Any] | None) -> ModelCall:
    about = f"{incident['id']}: {incident['title']}" if incident else "a new problem"
    args: dict[str, Any] = {"service": service, "message": f"You are paged about {about}."}
    if incident:
        args["incident_id"] = incident["id"]
    return call("page_oncall", f"asked to page {service}'s on-call", **args)


def _ticket(service: str, incident: dict[str, Any] | None) -> ModelCall:
    args: dict[str, Any] = {"service": service}
    if incident:
        args["title"] = f"Follow-up of {incident['id']}: {incident['title']}"[:200]
        args["priority"] = _PRIORITY.get(str(incident.get("severity")), "P3")
        args["incident_id"] = incident["id"]
    else:
        args["title"] = f"Follow-up of a page to {service}'s on-call"
    return call("open_ticket", "every page gets a follow-up ticket", **args)


def _report(ticket: Outcome, pages: Sequence[Outcome]) -> ModelCall:
    page = pages[-1].result if pages and isinstance(pages[-1].result, dict) else {}
    paged = f"Paged {page.get('paged', 'the on-call')} ({page.get('service', '?')})"
    if page.get("incident_id"):
        paged += f" about {page['incident_id']}"
    if ticket.rejected:
        why = f": {ticket.comment}" if ticket.comment else ""
        return done(f"{paged}. The follow-up ticket was rejected{why}, so I opened none.")
    if ticket.error is not None:
        return done(f"{paged}. Opening the ticket failed: {ticket.error}")
    result = ticket.result if isinstance(ticket.result, dict) else {}
    if not result:
        return done(f"{paged}. The ticket is still being opened.")
    return done(f"{paged}. Opened ticket {result.get('ticket')}: {result.get('title')}.")


def _acknowledge(turn: Sequence[Entry], incident_id: str) -> ModelCall:
    acks = outcomes(turn, "acknowledge_incident")
    if not acks:
        return call(
            "acknowledge_incident",
            f"asked to acknowledge {incident_id}",
            incident_id=incident_id.upper(),
        )
    if acks[-1].error is not None:
        return done(f"I could not acknowledge {incident_id.upper()}: {acks[-1].error}")
    return done(f"Acknowledged {incident_id.upper()}.")


def _listed(turn: Sequence[Entry], service: str) -> list[dict[str, Any]] | None:
    for outcome in reversed(outcomes(turn, "list_incidents")):
        if outcome.args.get("service") == service and isinstance(outcome.result, list):
            return [i for i in outcome.result if isinstance(i, dict) and "id" in i]
    return None


def _chosen(text: str, incidents: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    named = last_match(_INCIDENT, text)
    if named is None:
        return None
    return next((i for i in incidents if str(i["id"]).upper() == named.upper()), None)


RULES = Rules(
    agent="oncall",
    tools=frozenset({"list_incidents", "page_oncall", "open_ticket", "request_choice"}),
    decide=decide,
)
