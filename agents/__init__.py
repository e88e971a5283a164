"""The agents that ship with hitlbot (factor 10: small and focused), one folder each.

A folder `agents/<name>/` holds `agent.py` (defining `AGENT`), `prompt.md`, its data files and
its eval `cases/`; `bot.runtime.discovery` finds it, so adding an agent is adding a folder.
"""

import sys
from collections.abc import Mapping

from bot.core.agent import Agent
from bot.runtime.discovery import discover

AGENTS: Mapping[str, Agent] = discover(sys.modules[__name__])
"""The shipped agents, by name (the worker discovers again at start: `load_agents`)."""
