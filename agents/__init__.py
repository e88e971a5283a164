"""The agents that ship with hitlbot (factor 10: small and focused), one folder each.

A folder `agents/<name>/` holds `agent.py` (defining `AGENT`), `prompt.md`, its data files and
its eval `cases/`; `bot.runtime.discovery` finds it (`shipped()`: these agents by name), so
adding an agent is adding a folder. The package itself imports nothing: discovery imports it.
"""
