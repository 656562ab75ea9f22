"""The documentation's shape: a short README that links each stage to its page, and one page per command whose
tables are generated (``docs/hooks.py``) from the CLI and the settings models. ``mkdocs build --strict`` (in
``make test``) checks the links and expands the markers; these tests check that nothing is left out."""

from __future__ import annotations

import importlib
import re
import sys

import pytest

from tests.helpers import ROOT

DOCS = ROOT / "docs"


def _pages() -> dict[str, str]:
    return {str(p.relative_to(DOCS)): p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md"))}


def _commands() -> list[str]:
    from classit_data.cli import app as data_app
    from classit_train.cli import app as train_app

    return [f"classit-data {c.name}" for c in data_app.registered_commands] + [
        f"classit-train {c.name}" for c in train_app.registered_commands
    ]


def test_the_readme_is_short_and_links_every_stage_to_its_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    linked = set(re.findall(r"\]\((docs/[\w/.-]+\.md)\)", readme))
    assert all((ROOT / link).is_file() for link in linked), linked
    for command in _commands():
        page = ("docs/stages/" if command.startswith("classit-data") else "docs/train/") + command.split()[1] + ".md"
        assert f"`{command}` | [{page}]({page})" in readme, command


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_a_page_with_its_generated_options(command):
    marker = f"<!-- options: {command} -->"
    assert any(marker in text for text in _pages().values()), f"no page has {marker}"


def test_every_settings_model_of_a_command_has_its_generated_table():
    from classit_data.core.settings import Settings

    shown = {m for text in _pages().values() for m in re.findall(r"<!-- settings: ([\w.:]+) -->", text)}
    layout = (ROOT / "README.md").read_text(encoding="utf-8").split("## Where things live", 1)[1]
    named = set(re.findall(r"\| `(\w+Config)` \|", layout))
    shown_names = {target.split(":")[1] for target in shown}
    assert named <= shown_names, named - shown_names
    for target in shown:
        module, name = target.split(":")
        assert issubclass(getattr(importlib.import_module(module), name), Settings), target


def test_the_hook_tables_come_from_the_model_and_the_cli():
    sys.path.insert(0, str(DOCS))
    try:
        hooks = importlib.import_module("hooks")
    finally:
        sys.path.remove(str(DOCS))
    table = hooks.settings_table("classit_data.wiki.config:PrepareConfig")
    assert "| `max_words` | `--max-words` | `160` | Most words in a passage. |" in table
    assert "| `punkt_params` | file only |" in table  # FILE_ONLY: no flag
    assert "| `fmt` | `--format` |" in table  # Flag("--format")
    options = hooks.options_table("classit-data prepare-wiki")
    assert "`--out`, `-o`" in options and "--max-words" not in options  # a setting is in the settings table
    with pytest.raises(AttributeError):
        hooks.settings_table("classit_data.wiki.config:NoSuchConfig")
