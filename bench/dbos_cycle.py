"""The cycle bench's second peer: a DBOS durable workflow on PostgreSQL (SQLite without one).

The same conversation as hitlbot's and LangGraph's: a plan step asks the same Anthropic
stand-in (the same scripted replies: deploy, then done); the workflow announces the call with
`DBOS.set_event` and waits for the human with `DBOS.recv`; the client reads the event
(`DBOS.get_event`), approves with `DBOS.send`, and waits for the result; a run step deploys and
the plan step asks again. Every step, event and message is checkpointed in DBOS's system
database: PostgreSQL at `--postgres` (DBOS's production setting; a fresh database per run,
dropped after) when one answers, else DBOS's default SQLite file (the JSON says which). Clients
and workflows share this one process, which only helps DBOS.

`python -m bench.dbos_cycle ANTHROPIC_URL --clients 20 --seconds 10`; prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import sqlalchemy as sa
from dbos import DBOS, DBOSConfig, SetWorkflowID

from bench.closed_loop import closed_loop
from bench.langgraph_cycle import MESSAGE, TOOLS

HOST, PORT = os.environ.get("HITLBOT_BENCH_POSTGRES", "127.0.0.1:5432").rsplit(":", 1)
"""Where the PostgreSQL is (trust auth, user `postgres`); nothing answering there: SQLite."""
POSTGRES = f"postgresql+psycopg://postgres@{HOST}:{PORT}"
TOPIC = "approval"
RECV_TIMEOUT_S = 60.0

_client: anthropic.AsyncAnthropic | None = None


@DBOS.step()
async def plan(log: list[str]) -> dict[str, Any]:
    """One model call: the tool call the stand-in scripts next."""
    assert _client is not None
    reply = await _client.messages.create(
        model="claude-bench",
        max_tokens=1024,
        messages=[{"role": "user", "content": "\n".join(log)}],
        tools=TOOLS,  # type: ignore[arg-type]
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
    )
    block = next(b for b in reply.content if b.type == "tool_use")
    return {"name": block.name, "input": block.input, "id": block.id}


@DBOS.step()
async def deploy(call: dict[str, Any]) -> dict[str, Any]:
    return {"status": "deployed", **call["input"], "call_id": call["id"]}


@DBOS.workflow()
async def conversation(message: str) -> dict[str, Any]:
    log = [f"<user_message>\n{message}\n</user_message>"]
    while True:
        call = await plan(log)
        log.append(f"<{call['name']}>\n{json.dumps(call['input'])}\n</{call['name']}>")
        if call["name"] != "deploy_service":
            return call
        await DBOS.set_event_async(TOPIC, call)
        decision = await DBOS.recv_async(TOPIC, timeout_seconds=RECV_TIMEOUT_S)
        assert decision is not None, "no decision within the timeout"
        log.append(f"<human_response>\napproved: {decision['approved']}\n</human_response>")
        result = await deploy(call)
        log.append(f"<deploy_service_result>\n{json.dumps(result)}\n</deploy_service_result>")


def _postgres_answers() -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, int(PORT)), 1):
        return True
    return False


@contextlib.contextmanager
def system_database(tmp: Path) -> Iterator[tuple[str, str]]:
    """DBOS's system database URL and its kind: a fresh PostgreSQL database, else SQLite."""
    if not _postgres_answers():
        yield f"sqlite:///{tmp / 'dbos.sqlite'}", f"SQLite (no PostgreSQL on {HOST}:{PORT})"
        return
    name = f"hitlbot_bench_dbos_{os.getpid()}"
    admin = sa.create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        yield f"{POSTGRES}/{name}", "PostgreSQL"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


async def one_cycle() -> None:
    workflow_id = uuid.uuid4().hex
    with SetWorkflowID(workflow_id):
        handle = await DBOS.start_workflow_async(conversation, MESSAGE)
    call = await DBOS.get_event_async(workflow_id, TOPIC, timeout_seconds=RECV_TIMEOUT_S)
    assert call is not None and call["name"] == "deploy_service", call
    await DBOS.send_async(workflow_id, {"approved": True}, TOPIC)
    last = await handle.get_result()
    assert last["name"] == "done_for_now", last


async def measure(anthropic_url: str, clients: int, seconds: float) -> dict[str, object]:
    global _client
    _client = anthropic.AsyncAnthropic(base_url=anthropic_url, api_key="bench-key", max_retries=0)
    # A short warm-up (connections, first queries) outside the figure.
    await asyncio.gather(*(one_cycle() for _ in range(2)))
    result = await closed_loop(one_cycle, clients, seconds)
    await _client.close()
    return result


def main(anthropic_url: str, clients: int, seconds: float) -> dict[str, object]:
    with (
        tempfile.TemporaryDirectory(prefix="hitlbot-dbos-") as tmp,
        system_database(Path(tmp)) as (url, kind),
    ):
        config: DBOSConfig = {
            "name": "hitlbot-bench",
            "system_database_url": url,
            "log_level": "WARNING",
        }
        DBOS(config=config)
        DBOS.launch()
        try:
            result = asyncio.run(measure(anthropic_url, clients, seconds))
        finally:
            DBOS.destroy()
    return {**result, "database": kind}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("anthropic_url")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    print(json.dumps(main(args.anthropic_url, args.clients, args.seconds)))
