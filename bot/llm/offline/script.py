"""Scripted replies for the offline model, by configuration alone (`HITLBOT_OFFLINE_SCRIPT`):
a YAML file of the calls each agent makes, in order, for a test or a demo.

    inventory:
      - tool: check_stock
        args: {sku: A-100}
      - tool: done_for_now
        args: {message: "A-100: 12 in stock."}

Each thread plays its agent's list from the top: a step of the script is taken once the log
shows a call to its tool after the previous step's (calls the script does not name, such as a
prefetch, are passed over). When the list is used up, the thread is told so and finishes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from bot.core.model import ModelCall
from bot.llm.offline.eventlog import Entry
from bot.llm.offline.rules import call, done

SETTING = "HITLBOT_OFFLINE_SCRIPT"


class Step(BaseModel):
    """One scripted call."""

    tool: str = Field(min_length=1)
    """The tool to call."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Its arguments."""


Script = dict[str, list[Step]]
"""Each agent's calls, in order, by agent name."""
_SCRIPT = TypeAdapter(Script)


class ScriptError(ValueError):
    """The script file cannot be read; the message names the file and says why."""


def load_script(path: str | Path) -> Script:
    """The script in `path`; ScriptError naming the file if it is missing or malformed."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScriptError(f"{SETTING}: cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ScriptError(f"{SETTING}: {path} is not valid YAML: {exc}") from None
    try:
        return _SCRIPT.validate_python(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ScriptError(f"{SETTING}: {path}: at {where}: {first['msg']}") from None


def play(steps: Sequence[Step], entries: Sequence[Entry], tools: Mapping[str, Any]) -> ModelCall:
    """The script's next call, given the calls the log shows so far."""
    calls = [entry.tag for entry in entries if entry.tag in tools]
    at = 0
    for step in steps:
        if step.tool in calls[at:]:
            at = calls.index(step.tool, at) + 1
            continue
        return call(step.tool, "scripted reply", **step.args)
    return done("The scripted replies are used up (HITLBOT_OFFLINE_SCRIPT).")
