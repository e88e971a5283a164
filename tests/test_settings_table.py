"""The README's table of variables and `.env.example` agree with `Settings`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings
from bot.settings_table import END, READ_ELSEWHERE, START, markdown, variables, with_table

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "run `.venv/bin/hitlbot settings --readme README.md`"


def env_example_names() -> set[str]:
    """Every variable `.env.example` sets or shows commented out (`NAME=` / `# NAME=`)."""
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", text, re.M))


def test_every_setting_has_a_row_with_its_env_name_and_docstring() -> None:
    rows = {row.name: row for row in variables()}
    for field in Settings.model_fields.values():
        assert field.alias in rows
        assert rows[field.alias].meaning == field.description
    assert {v.name for v in READ_ELSEWHERE} <= rows.keys()
    assert len(rows) == len(variables())  # each variable once
    assert rows["HITLBOT_MODEL"].default == "`claude-sonnet-5-5`"
    assert rows["HITLBOT_LLM_TIMEOUT"].default == "`60`"
    assert rows["REDIS_URL"].default == "unset" and rows["SMTP_STARTTLS"].default == "`true`"


def test_the_readme_table_is_the_generated_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme.count(START) == 1 and readme.count(END) == 1
    shown = readme.split(START + "\n", 1)[1].split(END, 1)[0]
    assert shown == markdown(), f"the README's settings table is out of date: {REGENERATE}"


def test_env_example_lists_exactly_the_variables_of_the_table() -> None:
    documented = {row.name for row in variables()}
    listed = env_example_names()
    assert documented - listed == set(), "add these to .env.example, with a comment"
    assert listed - documented == set(), "read these in Settings (or READ_ELSEWHERE)"


def test_with_table_replaces_only_the_text_between_the_markers() -> None:
    old = f"# intro\n{START}\n| stale |\n{END}\nafter\n"
    assert with_table(old) == f"# intro\n{START}\n{markdown()}{END}\nafter\n"
    with pytest.raises(ValueError, match="marker"):
        with_table("no markers here")


def test_the_cli_prints_the_table_and_rewrites_a_readme(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["settings"])
    assert result.exit_code == 0 and result.output == markdown()
    readme = tmp_path / "README.md"
    readme.write_text(f"top\n{START}\nold\n{END}\n")
    result = CliRunner().invoke(app, ["settings", "--readme", str(readme)])
    assert result.exit_code == 0, result.output
    assert readme.read_text() == f"top\n{START}\n{markdown()}{END}\n"
    result = CliRunner().invoke(app, ["settings", "--readme", str(tmp_path / "missing.md")])
    assert result.exit_code == 1 and "missing.md" in result.output
