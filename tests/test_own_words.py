"""The project speaks of itself alone: no tracked text file tells who built it, in which sessions, with which
tools, or on which machines lent for the purpose. A figure states its machine, load, date and command.

The phrases are matched as phrases, not as words: "session" is also pytest's fixture scope, Ray's running
cluster and a process's ``start_new_session``, and "the lead" is a Wikipedia article's opening section; a
``git worktree`` command (which a benchmark may run to build an older revision) is a command, not a copy of ours.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.helpers import ROOT

#: what a reader of the project has no use for, each with the reason it is refused
PHRASES = {
    "a work session": r"\b(previous|earlier|last|next|later|helper|other|another|this|same) sessions?\b",
    "a machine lent or borrowed": (
        r"\b(gpu|machine|device|h100|h200)s?\b[^.\n]{0,40}\b(lent|borrowed)\b"
        r"|\b(lent|borrowed)\b[^.\n]{0,40}\b(gpu|machine|device)s?\b"
    ),
    "the people who built it": r"\b(other )?engineers?\b|\blead (engineer|developer)\b|\bthe lead merges\b",
    "how they measured it": r"\bwho (measured|worked on)\b|\bwhile others?\b[^.\n]{0,30}\bworking\b",
    # `git worktree add` (and its quoted argument) is a command a benchmark may run; any other worktree is ours
    "their working copies": r"(?<!git )(?<!\")\bworktrees?\b",
    "their tools": r"\b(claude|anthropic|chatgpt|copilot|coding agents?|ai (tools?|assistants?|agents?))\b",
}
_PATTERN = re.compile("|".join(f"(?P<p{i}>{p})" for i, p in enumerate(PHRASES.values())), re.I)

#: tracked files that are not text
_BINARY = {".png", ".bz2", ".gz", ".parquet", ".zip", ".svg", ".ico", ".whl", ".safetensors", ".gguf", ".pdf"}


def offending(text: str) -> list[str]:
    """``"LINE: phrase (why)"`` for each refused phrase in ``text``."""
    reasons = list(PHRASES)
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for match in _PATTERN.finditer(line):
            group = next(name for name, value in match.groupdict().items() if value is not None)
            found.append(f"{number}: {match.group(0)!r} ({reasons[int(group[1:])]})")
    return found


def tracked_text_files() -> list[str]:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [f for f in files if not any(f.endswith(ext) for ext in _BINARY) and f != "tests/test_own_words.py"]


def test_no_tracked_file_speaks_of_who_built_it():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    problems = []
    for name in tracked_text_files():
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        problems += [f"{name}:{hit}" for hit in offending(text)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "text",
    [
        # each example is put together at run time, so that this file does not carry the phrases it refuses
        " ".join(["Measured in the previous", "session", "on the shared machine."]),
        " ".join(["No GPU machine was", "lent", "to this task."]),
        " ".join(["figures taken while other", "engineers", "were working on it"]),
        " ".join(["PYTHONPATH pointing at a", "worktree", "of it"]),
        " ".join(["written with", "Claude"]),
    ],
)
def test_the_phrases_are_found(text):
    assert offending(text)


@pytest.mark.parametrize(
    "text",
    [
        '@pytest.fixture(scope="session")',
        "go to the debug log while the run holds its Ray session",
        '`section` (the nearest heading; `""` for the lead)',
        "subprocess.Popen(cmd, start_new_session=True)",
        "an OpenAI-compatible server",
        'subprocess.run(["git", "-C", root, "worktree", "add", "--detach", tree, base])',
        "the base revision in a temporary git worktree",
    ],
)
def test_the_projects_own_words_pass(text):
    assert offending(text) == []
