"""The `hitlbot` command: run the processes, and launch, inspect and resume threads."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
import uvicorn

from bot.config import Settings
from bot.dev.server import DEV_TOKEN
from bot.evals.cli import register as register_evals
from bot.logs import configure
from bot.scaffold.command import new

app = typer.Typer(
    help="hitlbot: human-in-the-loop agents over Slack and email.", no_args_is_help=True
)

app.add_typer(new, name="new")
register_evals(app)
Url = Annotated[str, typer.Option(envvar="HITLBOT_URL", help="Base URL of the web process.")]
Token = Annotated[str, typer.Option(envvar="HITLBOT_API_TOKEN", help="API bearer token.")]


@app.command()
def web(
    host: str = "0.0.0.0",
    port: Annotated[int, typer.Option(envvar="PORT")] = 8000,
    access_log: Annotated[
        bool, typer.Option(help="uvicorn's access log: a line per request (bench/RESULTS.md).")
    ] = True,
) -> None:
    """Run the web process (HTTP API, Slack and email webhooks)."""
    import bot.web.app  # noqa: F401 - imported before the heap is frozen
    from bot.runtime.wiring import freeze_heap

    configure()
    _check_configuration(Settings())
    freeze_heap()
    uvicorn.run(
        "bot.web:create_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=access_log,
    )


@app.command()
def worker() -> None:
    """Run a worker: it takes agent steps off the queue."""
    from bot.runtime.wiring import freeze_heap, runtime
    from bot.runtime.worker import run_worker

    configure()
    settings = Settings()
    _check_configuration(settings)

    async def main() -> None:
        async with runtime(settings) as (deps, broker):
            freeze_heap()
            await run_worker(deps, broker)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@app.command()
def smtp(
    host: str = "0.0.0.0",
    port: Annotated[int, typer.Option(envvar="HITLBOT_SMTPD_PORT")] = 2525,
) -> None:
    """Receive mail over SMTP (point an MX record here); it is taken like /email/inbound's."""
    from bot.email.smtpd import run_smtpd

    configure()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_smtpd(Settings(), host, port))


@app.command()
def dev(
    port: Annotated[int, typer.Option(envvar="PORT")] = 8000,
    reload: Annotated[
        bool, typer.Option(help="Restart web and worker when an agent's files change.")
    ] = False,
) -> None:
    """Web and worker in one process, on loopback, with whatever is missing built in.

    A private Redis (no REDIS_URL), the offline model (no ANTHROPIC_API_KEY), a built-in
    Slack workspace (no SLACK_BOT_TOKEN), a mail catcher (no SMTP_HOST), and the playground
    page at http://127.0.0.1:PORT/.
    """
    from bot.dev.server import run

    configure()
    settings = Settings()
    _check_configuration(settings)  # a bad agent folder or policy: its file, before any start
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C at any phase: cleanups ran, no trace
        run(settings, port, typer.echo, reload=reload)


@app.command()
def launch(
    agent: str,
    message: str,
    url: Url = "http://127.0.0.1:8000",
    token: Token = DEV_TOKEN,
    wait: Annotated[bool, typer.Option(help="Wait until the thread pauses or ends.")] = True,
    timeout: float = 120.0,
) -> None:
    """Start a thread on AGENT with MESSAGE."""
    reply = _call(
        "POST", url, token, "/threads", json={"agent": agent, "message": message, "user": _user()}
    )
    thread_id = reply["thread_id"]
    typer.echo(f"launched {thread_id}")
    if wait:
        _wait_and_show(url, token, thread_id, timeout)


@app.command()
def threads(
    status: Annotated[str | None, typer.Option(help="running, waiting_human, ...")] = None,
    url: Url = "http://127.0.0.1:8000",
    token: Token = DEV_TOKEN,
    limit: int = 50,
) -> None:
    """List threads, newest first."""
    params: dict[str, Any] = {"limit": limit, **({"status": status} if status else {})}
    for row in _call("GET", url, token, "/threads", params=params)["threads"]:
        typer.echo(f"{row['id']}  {row['agent']:<10} {row['status']}")


@app.command()
def pending(
    agent: Annotated[str | None, typer.Option(help="Only this agent's.")] = None,
    older_than: Annotated[str | None, typer.Option(help="Waiting longer: 90, 15m, 2h.")] = None,
    url: Url = "http://127.0.0.1:8000",
    token: Token = DEV_TOKEN,
) -> None:
    """What waits on a human, oldest first: what is asked, who may decide, the deadline."""
    from bot.core.pending import describe

    params = {"agent": agent, "older_than": older_than}
    reply = _call("GET", url, token, "/requests", params={k: v for k, v in params.items() if v})
    for entry in reply["requests"]:
        typer.echo(describe(entry))
    typer.echo(f"{reply['count']} pending")


@app.command()
def show(thread_id: str, url: Url = "http://127.0.0.1:8000", token: Token = DEV_TOKEN) -> None:
    """Show a thread as a timeline."""
    from bot.core.timeline import timeline

    typer.echo(timeline(_call("GET", url, token, f"/threads/{thread_id}")))


@app.command()
def audit(thread_id: str, url: Url = "http://127.0.0.1:8000", token: Token = DEV_TOKEN) -> None:
    """Print a thread's audit entries: requests, every vote and decision, results."""
    for entry in _call("GET", url, token, f"/threads/{thread_id}/audit")["entries"]:
        rest = {k: v for k, v in entry.items() if k not in ("at", "event") and v is not None}
        details = " ".join(f"{k}={v}" for k, v in rest.items())
        typer.echo(f"{entry['at']}  {entry['event']:<15} {details}")


@app.command()
def respond(
    thread_id: str,
    approve: Annotated[
        bool | None, typer.Option("--approve/--reject", help="Decide an approval.")
    ] = None,
    answer: Annotated[str | None, typer.Option(help="Answer a question.")] = None,
    comment: Annotated[str | None, typer.Option(help="Why (a rejection's reason).")] = None,
    request_id: Annotated[str | None, typer.Option(help="Defaults to the pending request.")] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="Who decides, where the API trusts the token's word (`hitlbot dev`); "
            "otherwise the token's own identity decides (HITLBOT_API_KEYS)."
        ),
    ] = None,
    url: Url = "http://127.0.0.1:8000",
    token: Token = DEV_TOKEN,
    wait: bool = True,
    timeout: float = 120.0,
) -> None:
    """Answer the thread's pending request, then wait for it to pause or end again."""
    if request_id is None:
        view = _call("GET", url, token, f"/threads/{thread_id}")
        if view["pending_request"] is None:
            _fail(nothing_to_answer(view))
        request_id = view["pending_request"]["request_id"]
    body = {
        "request_id": request_id,
        "user": user,  # never a guess: a key decides as its own identity
        "approved": approve,
        "answer": answer,
        "comment": comment,
    }
    _call("POST", url, token, f"/threads/{thread_id}/responses", json=body)
    typer.echo(f"recorded; {thread_id} resumes")
    if wait:
        _wait_and_show(url, token, thread_id, timeout)


@app.command()
def cancel(
    thread_id: str,
    reason: Annotated[str | None, typer.Option(help="Why (shown where it is announced).")] = None,
    user: Annotated[str | None, typer.Option(help="Who you are (defaults to $USER).")] = None,
    url: Url = "http://127.0.0.1:8000",
    token: Token = DEV_TOKEN,
) -> None:
    """Stop a running or waiting thread: its pending request withdrawn, nothing more runs."""
    body = {"user": user or _user(), "reason": reason}
    reply = _call("POST", url, token, f"/threads/{thread_id}/cancel", json=body)
    withdrawn = ", ".join(reply.get("withdrawn") or []) or "none"
    typer.echo(f"cancelled {thread_id} (withdrawn requests: {withdrawn})")


@app.command()
def message(
    thread_id: str,
    text: str,
    user: Annotated[str | None, typer.Option(help="Who you are (defaults to $USER).")] = None,
    url: Url = "http://127.0.0.1:8000",
    token: Token = DEV_TOKEN,
    wait: bool = True,
    timeout: float = 120.0,
) -> None:
    """Write to a thread again: answers its question, or starts its next turn once it ended."""
    body = {"message": text, "user": user or _user()}
    _call("POST", url, token, f"/threads/{thread_id}/messages", json=body)
    typer.echo(f"sent; {thread_id} resumes")
    if wait:
        _wait_and_show(url, token, thread_id, timeout)


@app.command()
def settings(
    readme: Annotated[
        Path | None, typer.Option(help="Rewrite the table between its markers in this file.")
    ] = None,
) -> None:
    """Every configuration variable as a Markdown table (default, meaning), from the code."""
    from bot.settings_table import markdown, with_table

    if readme is None:
        typer.echo(markdown(), nl=False)
        return
    try:
        readme.write_text(with_table(readme.read_text()))
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"updated the settings table in {readme}")


def nothing_to_answer(view: dict[str, Any]) -> str:
    """Why `respond` has nothing to answer on this thread, and what to run instead."""
    thread_id, status = view["id"], view["status"]
    show = f"  read it: hitlbot show {thread_id}"
    again = f'hitlbot message {thread_id} "..."'
    if status == "running":
        return (
            f"thread {thread_id} is running: the agent is still working, so nothing on it "
            f"waits for an answer yet.\n{show}"
        )
    if status == "failed":
        return (
            f"thread {thread_id} failed ({view.get('error', 'see the thread')}): nothing on it "
            f"waits for an answer.\n{show}\n  try again on it: {again}"
        )
    return (
        f"thread {thread_id} is {status}: nothing on it waits for an answer.\n{show}\n"
        f"  write to it again (starts its next turn): {again}"
    )


def _wait_and_show(url: str, token: str, thread_id: str, timeout: float) -> None:
    from bot.core.timeline import timeline

    deadline = time.monotonic() + timeout
    view = _call("GET", url, token, f"/threads/{thread_id}")
    while view["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.3)
        view = _call("GET", url, token, f"/threads/{thread_id}")
    typer.echo(timeline(view))
    if view["status"] == "failed":
        raise typer.Exit(1)
    if view["status"].startswith("waiting"):
        flag = (
            "--approve (or --reject --comment WHY)"
            if view["status"] == "waiting_approval"
            else '--answer "..."'
        )
        typer.echo(f"\nnext: hitlbot respond {thread_id} {flag}")


def _call(method: str, url: str, token: str, path: str, **kwargs: Any) -> Any:
    try:
        reply = httpx.request(
            method,
            url.rstrip("/") + path,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            **kwargs,
        )
    except httpx.HTTPError as exc:
        _fail(f"cannot reach hitlbot at {url}: {exc} (is `hitlbot dev` running?)")
    if reply.status_code >= 400:
        try:
            detail = reply.json().get("detail")
        except ValueError:
            detail = reply.text
        _fail(f"HTTP {reply.status_code}: {detail}")
    return reply.json()


def _check_configuration(settings: Settings) -> None:
    """Stop with the reason (file, line) before starting on a configuration that cannot work."""
    from bot.runtime.wiring import StartupError, check_configuration, load_agents

    try:
        check_configuration(settings, load_agents(settings))
    except StartupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _stop(message: str) -> NoReturn:
    """The command cannot run as asked (exit 2, as for a bad configuration)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _user() -> str:
    with contextlib.suppress(Exception):
        return os.environ.get("USER") or getpass.getuser()
    return "cli"


def main() -> None:
    """Console-script entry point."""
    app(prog_name="hitlbot")


if __name__ == "__main__":
    main()
