"""/docs and /redoc work offline, and OpenAPI declares the bearer token (Authorize button)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.config import Settings
from tests.conftest import app_client

REFERENCE = re.compile(r"""(?:src|href|spec-url)="([^"]*)"|url: '([^']*)'""")
"""Everything a docs page makes the browser load: scripts, styles, icons, the spec."""


@pytest.fixture
async def web(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The web process alone on a real socket (no worker needed to read docs)."""
    async with app_client(settings, with_worker=False) as client:
        yield client


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}),
        ("/redoc", {"redoc.standalone.js", "favicon.png"}),
    ],
)
async def test_docs_pages_load_only_local_assets(
    web: httpx.AsyncClient, page: str, assets: set[str]
) -> None:
    reply = await web.get(page)
    assert reply.status_code == 200
    html = reply.text
    assert "://" not in html, html  # no CDN, no font host: nothing outside this process
    references = {a or b for a, b in REFERENCE.findall(html)}
    assert "/openapi.json" in references
    assert {ref.rsplit("/", 1)[-1] for ref in references} == assets | {"openapi.json"}
    for ref in references:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        served = await web.get(ref)
        assert served.status_code == 200, ref
        if ref.endswith(".js"):  # the real bundle, not a placeholder
            assert len(served.content) > 500_000, ref
            assert "javascript" in served.headers["content-type"]
        if ref.endswith(".css"):
            assert "text/css" in served.headers["content-type"]


async def test_swagger_ui_shows_no_validator_badge(web: httpx.AsyncClient) -> None:
    # Swagger UI's default badge is an image fetched from validator.swagger.io.
    assert '"validatorUrl": null' in (await web.get("/docs")).text


async def test_openapi_declares_bearer_auth_on_the_threads_routes(web: httpx.AsyncClient) -> None:
    spec = (await web.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes == {
        "HITLBOT_API_TOKEN": {
            "type": "http",
            "scheme": "bearer",
            "description": schemes["HITLBOT_API_TOKEN"]["description"],
        }
    }
    assert "`dev`" in schemes["HITLBOT_API_TOKEN"]["description"]
    operations = [
        (path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
    ]
    threads = [(p, m) for p, m, op in operations if p.startswith("/threads")]
    assert len(threads) == 7  # launch, list, get, audit, responses, cancel, messages
    for path, method, op in operations:
        # The HumanLayer API (`/humanlayer/v1`) and `/requests` take the same bearer keys.
        protected = path.startswith(("/threads", "/humanlayer/v1", "/requests"))
        expected = [{"HITLBOT_API_TOKEN": []}] if protected else None
        assert op.get("security") == expected, (path, method)
    # The token is the scheme's, not a header parameter of each route.
    for path, method, op in operations:
        names = [p["name"].lower() for p in op.get("parameters", [])]
        assert "authorization" not in names, (path, method)


async def test_the_bearer_token_opens_the_api(web: httpx.AsyncClient) -> None:
    assert (await web.get("/threads")).status_code == 200  # the client sends test-token
    async with httpx.AsyncClient(base_url=str(web.base_url)) as anonymous:
        reply = await anonymous.get("/threads", headers={"Authorization": "Bearer"})
    assert reply.status_code == 401 and reply.json()["detail"] == "missing or wrong bearer token"
