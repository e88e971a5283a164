"""The Messages API as AWS Bedrock and Google Vertex AI serve it, for the Anthropic stand-in:
their paths (the model named in the path, not the body), an `anthropic_version` in the body,
and their authentication (SigV4 or a Bedrock API key; a Google bearer token)."""

from __future__ import annotations

from typing import Any

ROUTES = (
    "/model/{model}/invoke",
    "/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{call}",
)
"""Bedrock's and Vertex's paths (Vertex's last segment is `MODEL:rawPredict`)."""


def provider(path: str, match: dict[str, str]) -> tuple[str, str | None]:
    """Which API shape a request came in by, and the model its path names."""
    if "call" in match:
        model, _, method = match["call"].partition(":")
        return "vertex", model if method == "rawPredict" else None
    if "model" in match:
        return "bedrock", match["model"]
    return "anthropic", None


def refusal(
    provider: str, headers: dict[str, str], body: dict[str, Any] | None
) -> tuple[int, str] | None:
    """The status and message a cloud refuses the request with, or None."""
    authorization = headers.get("authorization", "")
    if provider == "bedrock" and not authorization.startswith(
        ("AWS4-HMAC-SHA256 Credential=", "Bearer ")
    ):
        return 403, "Missing Authentication Token"
    if provider == "vertex" and not authorization.removeprefix("Bearer ").strip():
        return 401, "Request is missing required authentication credential"
    if body is None:
        return None  # the common checks say what is wrong with it
    version = body.get("anthropic_version")
    if not isinstance(version, str) or not version:  # the clouds' own dated ones, or the SDK's
        return 400, "anthropic_version: Field required"
    if "model" in body:
        return 400, "model: the model is named in the path, not the body"
    return None
