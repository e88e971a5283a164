"""The baseline web process: a bare FastAPI endpoint at the same path, under the same uvicorn.

Reads the body and answers 200, as little as an endpoint can do; started the way `hitlbot web`
starts uvicorn (`uvicorn.run`, no log config), from the same venv.
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, Request, Response

app = FastAPI()


@app.post("/slack/events")
async def events(request: Request) -> Response:
    await request.body()
    return Response(status_code=200)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None)
