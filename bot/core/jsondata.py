"""`Json`: a JSON object as Python holds it (a Slack payload or Block Kit, a tool's record)."""

from typing import Any

Json = dict[str, Any]
"""A JSON object: string keys, any JSON values."""
