"""A decision made on a thread the caller loaded already (a click's card) is still decided on
the stored version: a copy that is stale by then is refused by the compare-and-set."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.core.events import HumanRequest, HumanResponse, ToolCall
from bot.core.refusals import AlreadyAnswered
from bot.core.thread import ApiOrigin
from bot.runtime.service import Answer, Service
from bot.runtime.wiring import runtime
from tests.helpers import T0


async def test_a_stale_loaded_thread_does_not_decide_twice(settings: Settings) -> None:
    async with runtime(settings) as (deps, _):
        service = Service(deps)
        thread = await service.launch("deploy", "ship it", ApiOrigin(), "u")
        call = ToolCall(call_id="c1", name="deploy_service", args={"service": "api"}, at=T0)
        request = HumanRequest(
            request_id=f"{thread.id}.r1", kind="approval", message="ok?", call_id="c1", at=T0
        )
        await deps.store.commit(thread, [call, request])
        stale = await deps.store.get(thread.id)
        assert stale is not None and stale.pending_request == request
        first = Answer(request_id=request.request_id, user="ana", approved=True)
        await service.respond(thread.id, first, enforce=False)
        late = Answer(request_id=request.request_id, user="bo", approved=False)
        with pytest.raises(AlreadyAnswered):
            await service.respond(thread.id, late, enforce=False, loaded=stale)
        fresh = await service.get(thread.id)
        decided = [e for e in fresh.events if isinstance(e, HumanResponse)]
        assert [(e.user, e.approved) for e in decided] == [("ana", True)]
        # And a current copy is decided on directly.
        other = await service.launch("deploy", "ship it too", ApiOrigin(), "u")
        request2 = request.model_copy(update={"request_id": f"{other.id}.r1"})
        await deps.store.commit(other, [call, request2])
        current = await deps.store.get(other.id)
        answer = Answer(request_id=request2.request_id, user="ana", approved=True)
        done = await service.respond(other.id, answer, enforce=False, loaded=current)
        assert isinstance(done.events[-1], HumanResponse) and done.version == 3
