"""The wheel's packages: `bot`, and the repo's `agents/` folder under the import name
`hitlbot_agents` (pyproject.toml maps the folder; README, "Packaging", says why). A list, as
pyproject.toml can only find packages under their folders' names: this one finds each agent's
folder, so adding an agent still needs no edit here."""

from setuptools import find_namespace_packages, setup

BUNDLED = "hitlbot_agents"
"""The import name of the repo's `agents/` folder: the OpenAI Agents SDK's is `agents`."""


def packages(folder: str, name: str) -> list[str]:
    """`folder` and every folder under it (namespace packages: `cases/` is data), as `name`."""
    found = find_namespace_packages(include=[folder, f"{folder}.*"], exclude=["*.__pycache__"])
    return [name + package.removeprefix(folder) for package in found]


setup(packages=[*packages("bot", "bot"), *packages("agents", BUNDLED)])
