"""The baseline web process: a bare FastAPI endpoint at the same path, under the same uvicorn.

Reads the body and answers 200, as little as an endpoint can do; started the way `hitlbot web`
starts uvicorn (`uvicorn.run`, no log config), from the same venv. With a Redis URL (second
argument) it also writes each body to Redis before answering (one `SET` through redis-py's
asyncio client, hiredis installed, one shared pool): the least a durable ingest does, a second
reference for what the HTTP front and one round trip cost together.
"""

from __future__ import annotations

import itertools
import sys

import uvicorn
from fastapi import FastAPI, Request, Response
from redis.asyncio import Redis

app = FastAPI()
redis: Redis | None = None
numbers = itertools.count()


@app.post("/slack/events")
async def events(request: Request) -> Response:
    body = await request.body()
    if redis is not None:
        await redis.set(f"bare:{next(numbers)}", body, ex=600)
    return Response(status_code=200)


if __name__ == "__main__":
    if len(sys.argv) > 2:
        redis = Redis.from_url(sys.argv[2])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None)
