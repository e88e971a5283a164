"""hitlbot as a user installs it: the wheel, not the source folder. The repo's `agents/` ships
as `hitlbot_agents`, so the OpenAI Agents SDK (import name `agents`, the `openai-agents` extra)
installs beside it and both work in one environment, from a directory outside the repo.

The wheel is built from a copy of the tree with this environment's setuptools (no build
isolation, no index: nothing is downloaded) and installed without dependencies into a fresh
venv that sees this one's packages through a `.pth` line (a `--system-site-packages` venv made
from a venv sees the base interpreter's, not this one's); this venv's own `.pth` files, the
editable install among them, are not run there, so `bot` comes from the wheel alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "README.md", "bot", "agents")
"""What the build reads."""
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]


def run(*args: str | Path, cwd: Path, timeout: float = 30) -> str:
    """Run a command outside the repo, with none of hitlbot's keys or agent paths; its stdout,
    failing the test with its output when it fails."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"ANTHROPIC_API_KEY", "HITLBOT_AGENT_PATHS", "PYTHONPATH", "VIRTUAL_ENV"}
    }
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the tree (so nothing is written into the checkout)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]
    run(*PIP, "wheel", "-q", *offline, "-w", out, source, cwd=out, timeout=50)
    [built] = out.glob("hitlbot-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed, seeing this venv's packages (openai-agents too)."""
    home = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", "--without-pip", home, cwd=home)
    python = home / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(run(python, "-c", where, cwd=home).strip())
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site / "test-venv.pth").write_text("".join(f"{path}\n" for path in ours), encoding="utf-8")
    run(*PIP, "--python", python, "install", "-q", "--no-deps", "--no-index", wheel, cwd=home)
    return home


def test_the_wheel_ships_the_agents_folder_as_hitlbot_agents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert not [name for name in names if name.split("/")[0] == "agents"]
    shipped = {
        f"hitlbot_agents/{path.relative_to(ROOT / 'agents').as_posix()}"
        for path in (ROOT / "agents").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert shipped - set(names) == set()
    assert "hitlbot_agents/oncall/incidents_server.py" in names


def test_installed_hitlbot_runs_its_agents_beside_the_openai_agents_sdk(
    venv: Path, tmp_path: Path
) -> None:
    replayed = run(venv / "bin" / "hitlbot", "eval", "deploy", cwd=tmp_path)
    assert "recorded mode: no regressions" in replayed
    # oncall's tools are its MCP server's, started as `python -m hitlbot_agents.oncall...`.
    assert "no regressions" in run(venv / "bin" / "hitlbot", "eval", "oncall", cwd=tmp_path)
    both = (
        "import sys, agents\n"
        "agents.Agent, agents.Runner  # the SDK's\n"
        "from bot.runtime.discovery import shipped\n"
        "print(*shipped(), sep=',')\n"
        "assert sys.modules['agents'] is agents  # still, after discovery\n"
        "import bot, hitlbot_agents\n"
        "print(agents.__file__, bot.__file__, hitlbot_agents.__file__)\n"
    )
    names, paths = run(venv / "bin" / "python", "-c", both, cwd=tmp_path).splitlines()
    assert names == "deploy,oncall,support"
    sdk, ours, bundled = map(Path, paths.split())
    assert sdk.parent.parent in {Path(path) for path in sysconfig.get_paths().values()}
    assert ours.is_relative_to(venv) and bundled.is_relative_to(venv)
