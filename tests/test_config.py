"""Settings."""

from __future__ import annotations

from anthropic._data import DEPRECATED_MODELS

from bot.config import Settings


def test_default_model_is_not_deprecated() -> None:
    model = Settings(_env_file=None).model
    assert model not in DEPRECATED_MODELS, f"{model} is deprecated: {DEPRECATED_MODELS[model]}"


def test_contract_names_are_read_from_the_environment(monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("HITLBOT_STEP_LEASE_S", "7")
    monkeypatch.setenv("SLACK_APPROVAL_CHANNEL", "C9")
    monkeypatch.setenv("HITLBOT_LLM_RETRY_SCHEDULE", "1, 2,3")
    settings = Settings(_env_file=None)
    assert settings.step_lease_s == 7 and settings.slack_approval_channel == "C9"
    assert settings.retry_delays() == [1.0, 2.0, 3.0]


def test_every_setting_is_documented_in_env_example() -> None:
    from pathlib import Path

    example = (Path(__file__).parents[1] / ".env.example").read_text(encoding="utf-8")
    documented = {
        line.lstrip("# ").split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].isupper()
    }
    names = {field.alias for field in Settings.model_fields.values() if field.alias}
    assert names - documented == set()
