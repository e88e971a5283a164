"""What the figures were measured on: CPU, cores, Python, Redis and the key libraries."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata

from bot.dev.embedded_redis import find_redis_server


def describe() -> list[str]:
    """Lines for RESULTS.md."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    redis = find_redis_server()
    redis_version = (
        subprocess.run([redis, "--version"], capture_output=True, text=True, check=False).stdout
        if redis
        else "none"
    )
    libs = ", ".join(
        f"{name} {_version(name)}"
        for name in ("fastapi", "uvicorn", "redis", "slack-bolt", "taskiq-redis", "langgraph")
    )
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores (shared, noisy machine)",
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
        f"- Redis: {redis_version.strip()}",
        f"- Libraries: {libs}",
    ]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"
