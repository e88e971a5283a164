"""Read py-spy's folded stacks (`py-spy record -f raw`): where a process spent its samples.

`python -m bench.flame FILE [--top 25]` prints the share of samples by area (inclusive: a
sample counts for every area on its stack), the top frames by self time, and the top
functions by inclusive time. Areas are the libraries the issue asks about: Bolt, Redis,
pydantic, JSON, the Anthropic and Slack SDKs, our own code.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

AREAS = {
    "Bolt (slack_bolt)": ("slack_bolt/",),
    "Slack SDK / aiohttp client": ("slack_sdk/", "aiohttp/"),
    "Redis client (redis-py)": ("redis/",),
    "pydantic validation / dumps": ("pydantic/", "pydantic_core"),
    "JSON (json module)": ("json/",),
    "YAML (context render)": ("yaml/",),
    "Anthropic SDK + httpx": ("anthropic/", "httpx/", "httpcore/"),
    "taskiq": ("taskiq/", "taskiq_redis/"),
    "structlog / logging": ("structlog/", "logging/"),
    "uvicorn / starlette / fastapi": ("uvicorn/", "starlette/", "fastapi/"),
    "hitlbot (bot/, agents/)": ("bot/", "agents/"),
    "asyncio event loop": ("asyncio/", "uvloop/"),
}
_ENTRY = ("bot/cli.py", "typer/", "<frozen runpy>", "uvicorn/main.py", "uvicorn/server.py")
"""Frames on every stack of a process (its entry point): not an area's time."""
_IDLE = ("Condition.wait", "EpollSelector.select", "_worker (concurrent/futures/thread.py)")
"""Leaves of a thread that waits (pool threads, the loop's poll): left out of the shares."""
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]*):?(?P<line>\d*)\)$")


def read(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def _file(frame: str) -> str:
    match = _FRAME.match(frame)
    return match.group("file") if match else frame


def _func(frame: str) -> str:
    match = _FRAME.match(frame)
    return f"{match.group('func')} ({match.group('file')})" if match else frame


def _leaf_area(files: list[str]) -> str:
    for file in reversed(files):
        for area, needles in AREAS.items():
            if any(n in file for n in needles):
                return area
    return "other"


def report(path: Path, top: int) -> str:
    every = read(path)
    stacks = [(f, n) for f, n in every if not any(i in _func(f[-1]) for i in _IDLE)]
    idle = sum(n for _, n in every) - sum(n for _, n in stacks)
    total = sum(count for _, count in stacks) or 1
    areas: Counter[str] = Counter()
    leaf_areas: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        leaf = frames[-1]
        own[_func(leaf)] += count
        files = [f for f in map(_file, frames) if not any(e in f for e in _ENTRY)]
        for area, needles in AREAS.items():
            if any(any(n in f for n in needles) for f in files):
                areas[area] += count
        leaf_areas[_leaf_area(files)] += count
        for func in {_func(f) for f in frames}:
            inclusive[func] += count
    lines = [f"{path.name}: {total} busy samples at 100 Hz ({idle} waiting ones left out)"]
    lines.append("\nby area (inclusive):")
    lines += [f"  {share / total:6.1%}  {area}" for area, share in areas.most_common()]
    lines.append("\nby area of the innermost known frame (exclusive, sums to 100%):")
    lines += [f"  {share / total:6.1%}  {area}" for area, share in leaf_areas.most_common()]
    lines.append(f"\ntop {top} frames by self time:")
    lines += [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(top)]
    lines.append(f"\ntop {top} functions by inclusive time:")
    lines += [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(report(args.file, args.top))
