"""`requires_approval`: a function that runs only once approved, with the approved arguments."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from pydantic import create_model

from bot.client.aio import AsyncHitlbot
from bot.client.models import Decision
from bot.client.sync import Hitlbot
from bot.core.jsondata import Json

P = ParamSpec("P")
R = TypeVar("R")


class Rejected(Exception):
    """The call was rejected (or expired); `decision.comment` says why."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"rejected by {decision.by}: {decision.comment}")
        self.decision = decision


def kwargs_schema(fn: Callable[..., Any]) -> Json:
    """The JSON schema of `fn`'s keyword arguments, from its annotations (what an approver's
    edit is checked by)."""
    fields: dict[str, Any] = {}
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = Any if param.annotation is param.empty else param.annotation
        default = ... if param.default is param.empty else param.default
        fields[name] = (annotation, default)
    model = create_model(f"{fn.__name__}_args", **fields)
    return model.model_json_schema()


def requires_approval(
    client: Hitlbot | AsyncHitlbot, **ask: Any
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Ask for approval (`client.approval(**ask)`: channel, responders, ...) before each call
    of the function; run it with the approved arguments (an approver's edit, if any), or raise
    `Rejected`. Works on plain and `async def` functions (with the matching client)."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)
        schema = kwargs_schema(fn)

        def bound(*args: Any, **kwargs: Any) -> dict[str, Any]:
            call = signature.bind(*args, **kwargs)
            call.apply_defaults()
            return dict(call.arguments)

        def checked(decision: Decision) -> dict[str, Any]:
            if not decision.approved:
                raise Rejected(decision)
            return decision.kwargs

        if inspect.iscoroutinefunction(fn):
            assert isinstance(client, AsyncHitlbot), "an async function needs AsyncHitlbot"

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                proposed = bound(*args, **kwargs)
                decision = await client.approval(fn.__name__, proposed, schema=schema, **ask)
                return await fn(**checked(decision))  # type: ignore[call-arg]

            return cast(Callable[P, R], run_async)
        assert isinstance(client, Hitlbot), "a plain function needs Hitlbot"

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            decision = client.approval(fn.__name__, bound(*args, **kwargs), schema=schema, **ask)
            return fn(**checked(decision))  # type: ignore[call-arg]

        return cast(Callable[P, R], run)

    return wrap
