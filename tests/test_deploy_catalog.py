"""The deploy agent's catalog: read once, read again when the file changes, errors as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hitlbot_agents.deploy.agent import CATALOG_ENV, load_catalog


def test_the_catalog_is_read_again_only_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"api": ["1.0"]}))
    monkeypatch.setenv(CATALOG_ENV, str(path))
    first = load_catalog()
    assert first == {"api": ["1.0"]}
    assert load_catalog() is first  # unchanged: not read and parsed again
    path.write_text(json.dumps({"api": ["1.0", "1.1"], "web": []}))
    assert load_catalog() == {"api": ["1.0", "1.1"], "web": []}
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_catalog()
    path.unlink()
    with pytest.raises(ValueError, match="cannot read the deploy catalog"):
        load_catalog()
