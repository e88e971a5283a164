"""`hitlbot web`'s options reach uvicorn: the access log stays on unless turned off."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

import bot.cli
import bot.runtime.wiring


def test_web_keeps_uvicorns_access_log_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(bot.cli.uvicorn, "run", lambda *args, **kwargs: runs.append(kwargs))
    monkeypatch.setattr(bot.cli, "_check_configuration", lambda settings: None)
    monkeypatch.setattr(bot.cli, "configure", lambda: None)
    monkeypatch.setattr(bot.runtime.wiring, "freeze_heap", lambda: None)
    for argv in (["web"], ["web", "--no-access-log"], ["web", "--access-log"]):
        result = CliRunner().invoke(bot.cli.app, argv)
        assert result.exit_code == 0, result.output
    assert [run["access_log"] for run in runs] == [True, False, True]
    assert all(run["factory"] and run["log_config"] is None for run in runs)
