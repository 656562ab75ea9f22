"""Shared test fixtures: paths, the real corpora (skipped when absent), the CLI runner, and item rows.

Item rows come in two kinds, both our own text: ``item_rows`` gives a few hand-written valid rows of both
sources (``sw(...)``/``qa(...)`` with any field overridden, ``frame(rows)``, ``passages_frame()``), for the
checks; ``synthetic_rows`` gives larger deterministic rows with full provenance and writes them to disk (raw,
or already through the validators), for build, publish and training.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import settings

from classit_data.core.io import write_rows
from classit_data.core.schema import ITEM_SCHEMA, PASSAGE_SCHEMA, Item, Passage
from classit_data.core.template import render_text

# CI runs the property tests on a fixed seed, so a run is reproducible; locally each run explores anew
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
#: real corpora live beside the checkout, never inside it
CORPORA = Path(os.environ.get("CLASSIT_CORPORA", ROOT.parent / "shared" / "corpora"))


@pytest.fixture
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"real corpora not found at {CORPORA}")
    return CORPORA


def run_cli(*args: str, module: str = "classit_data", env: dict | None = None, cwd: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real console entry point in a subprocess, the way a user does."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True, text=True, env=full_env, cwd=cwd or ROOT, timeout=timeout,
    )


@pytest.fixture(scope="session")
def cli():
    return run_cli


def help_entries(text: str) -> list[str]:
    """The options of a ``--help`` text, one entry each, its wrapped lines joined (``--seed <int> Shuffle ...``)."""
    entries: list[str] = []
    for line in text.splitlines():
        if line.startswith("  -"):
            entries.append(line.strip())
        elif entries and line.startswith("    ") and line.strip():
            entries[-1] += " " + line.strip()
    return [re.sub(r"^-\w, ", "", " ".join(e.split())) for e in entries]


def one_error_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """The one line a refused command prints: exit code 2, ``error: ...``, no traceback, every needle in it."""
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.stdout[-2000:], proc.stderr[-4000:])
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and re.fullmatch(r"error: .+", lines[0]), lines
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def items_frame(rows: list[dict]) -> pl.DataFrame:
    """Rows (dicts with item fields) as a frame with the item schema and column order."""
    return pl.DataFrame(rows, schema=ITEM_SCHEMA, strict=False)


# --- hand-written rows: good rows of both sources and their passages ------------------------------

PASSAGES = {
    "moon": "The Moon is the only natural satellite of the Earth. It is about one quarter the size of the Earth. "
            "The Moon has no air, so there is no weather there. People first walked on the Moon in 1969.",
    "bees": "Honey bees live in large groups called colonies. Each colony has one queen, many female workers and "
            "a few male drones. Worker bees collect nectar from flowers and make honey from it.",
    "nile": "The Nile is a long river in Africa. It flows north into the Mediterranean Sea. Many people in Egypt "
            "live close to the river because the land near it is good for farming.",
}
PASSAGE_IDS = {k: Passage.make_id(str(100 + i), "", t) for i, (k, t) in enumerate(PASSAGES.items())}

SWITCHBOARD_PAIRS = [
    ("Do you have any pets at home?", "Yeah, we have two dogs and, uh, a cat that thinks she runs the house."),
    ("What kind of dogs are they?", "One is a collie and the other one is, you know, just a mutt from the pound."),
    ("Oh, that's nice. We used to have a collie when I was growing up.",
     "They're great dogs, they really are, but they shed all over everything."),
    ("So how do you feel about the public schools in your area?",
     "Well, I think they're doing the best they can with the money they get."),
    ("Uh-huh.", "But the classes are just too big, I mean, thirty kids in a room."),
    ("No, no, no, no, no, no, no, it's not expensive at all.", "Really? I always thought it would cost a lot."),
]
QA_PAIRS = [
    ("moon", "What is the only natural satellite of the Earth?", "The Moon is the only natural satellite of the Earth."),
    ("moon", "When did people first walk on the Moon?", "People first walked on the Moon in 1969."),
    ("bees", "Who collects nectar from flowers?", "Worker bees collect nectar from flowers and make honey from it."),
    ("bees", "How many queens does a colony have?", "Each colony has one queen."),
    ("nile", "Where does the Nile flow?", "It flows north into the Mediterranean Sea."),
    ("nile", "Is the land near the Nile good for farming?", "Yes, it is."),
]


def sw(prompt: str = SWITCHBOARD_PAIRS[0][0], reply: str = SWITCHBOARD_PAIRS[0][1], *, doc: str = "sw2001",
       position: int = 1, **over) -> dict:
    row = {"source": "switchboard", "prompt": prompt, "reply": reply, "text": render_text(prompt, reply),
           "doc_id": doc, "position": position, "origin": "switchboard.train (babylm)", "passage_id": None,
           "model": None, "model_revision": None, "prompt_hash": None, "sampling": None, "seed": None}
    row["id"] = Item.make_id("switchboard", doc, position, prompt, reply)
    row.update(over)
    return row


def qa(prompt: str = QA_PAIRS[0][1], reply: str = QA_PAIRS[0][2], *, passage: str = "moon", position: int = 0,
       **over) -> dict:
    pid = PASSAGE_IDS.get(passage, passage)
    doc = str(100 + list(PASSAGES).index(passage)) if passage in PASSAGES else "999"
    row = {"source": "simple_wiki", "prompt": prompt, "reply": reply, "text": render_text(prompt, reply),
           "doc_id": doc, "position": position, "origin": "passages.parquet", "passage_id": pid,
           "model": "HuggingFaceTB/SmolLM2-135M-Instruct", "model_revision": "main", "prompt_hash": "0123456789abcdef",
           "sampling": json.dumps({"temperature": 0.7}), "seed": 0}
    row["id"] = Item.make_id("simple_wiki", doc, position, prompt, reply)
    row.update(over)
    return row


def good_rows() -> list[dict]:
    rows = [sw(p, r, position=i + 1) for i, (p, r) in enumerate(SWITCHBOARD_PAIRS)]
    rows += [qa(q, a, passage=k, position=i) for i, (k, q, a) in enumerate(QA_PAIRS)]
    return rows


frame = items_frame


def passages_frame() -> pl.DataFrame:
    return pl.DataFrame([{"passage_id": PASSAGE_IDS[k], "article_id": str(100 + i), "title": k.title(), "section": "",
                          "text": t, "n_words": len(t.split())} for i, (k, t) in enumerate(PASSAGES.items())],
                        schema=PASSAGE_SCHEMA)


class _ItemRows:
    """The hand-written rows above, as one fixture object."""

    PASSAGES = PASSAGES
    PASSAGE_IDS = PASSAGE_IDS
    SWITCHBOARD_PAIRS = SWITCHBOARD_PAIRS
    QA_PAIRS = QA_PAIRS
    sw = staticmethod(sw)
    qa = staticmethod(qa)
    good_rows = staticmethod(good_rows)
    frame = staticmethod(items_frame)
    passages_frame = staticmethod(passages_frame)


@pytest.fixture(scope="session")
def item_rows() -> type[_ItemRows]:
    return _ItemRows


# --- synthetic rows: larger, deterministic, with full provenance -----------------------------------

_WORDS = (
    "river mountain village teacher garden winter summer kitchen market library station bridge forest "
    "island harbor painter farmer doctor student engine window letter pocket basket candle mirror "
    "ladder blanket pencil guitar violin rabbit turtle falcon salmon orchard meadow canyon glacier "
    "desert valley planet comet thunder rainbow lantern compass anchor saddle wagon carpet pillow "
    "orange lemon cherry pepper ginger walnut barley wheat cotton copper silver marble granite timber "
    "castle temple tower cottage factory museum theater stadium airport college hospital prison "
    "council senate empire kingdom province county parish harvest festival wedding journey voyage "
    "battle treaty science history music poetry theory language number shadow silence courage"
).split()
_VERBS = "built crossed painted carried opened watched followed visited cleaned repaired found moved".split()
_FILLERS = "well you know i think really actually maybe yeah sure probably".split()


def _sentence(rng: random.Random, n: int) -> str:
    words = []
    for i in range(n):
        words.append(rng.choice(_VERBS) if i % 4 == 2 else rng.choice(_WORDS))
    return " ".join(words).capitalize() + "."


def switchboard_rows(n_conversations: int = 12, turns: int = 8, seed: int = 1) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for c in range(n_conversations):
        doc = f"sw{2000 + c}"
        utterances = [" ".join([rng.choice(_FILLERS), _sentence(rng, rng.randint(6, 16)).lower()]).capitalize()
                      for _ in range(turns)]
        for pos in range(1, turns):
            prompt, reply = utterances[pos - 1], utterances[pos]
            rows.append({"id": Item.make_id("switchboard", doc, pos, prompt, reply), "source": "switchboard",
                         "prompt": prompt, "reply": reply, "text": render_text(prompt, reply), "doc_id": doc,
                         "position": pos, "origin": "switchboard_sample.train (babylm)"})
    return items_frame(rows)


def wiki_rows_and_passages(n_articles: int = 10, passages_per_article: int = 2, seed: int = 2,
                           model: str = "HuggingFaceTB/SmolLM2-135M-Instruct") -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(seed)
    rows, passages = [], []
    sampling = json.dumps({"temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.2}, sort_keys=True)
    for a in range(n_articles):
        article, title = str(100 + a), f"{rng.choice(_WORDS).capitalize()} {rng.choice(_WORDS)}"
        for p in range(passages_per_article):
            sentences = [_sentence(rng, rng.randint(9, 16)) for _ in range(5)]
            text = " ".join(sentences)
            pid = Passage.make_id(article, "Introduction", text)
            passages.append({"passage_id": pid, "article_id": article, "title": title, "section": "Introduction",
                             "text": text, "n_words": len(text.split())})
            for q in range(2):
                answer = sentences[1 + 2 * q]
                subject = answer.split()[0].lower()
                prompt = f"What does the text say about the {subject} in {title}?"
                pos = p * 2 + q
                rows.append({"id": Item.make_id("simple_wiki", article, pos, prompt, answer),
                             "source": "simple_wiki", "prompt": prompt, "reply": answer,
                             "text": render_text(prompt, answer), "doc_id": article, "position": pos,
                             "origin": "passages.parquet", "passage_id": pid, "model": model,
                             "model_revision": "main", "prompt_hash": "5f0c2a9d1e3b4c7a", "sampling": sampling,
                             "seed": 0})
    return items_frame(rows), pl.DataFrame(passages, schema=PASSAGE_SCHEMA)


def write_inputs(folder: Path, **kw) -> dict[str, Path]:
    """Raw rows and passages on disk: {"switchboard": ..., "wiki": ..., "passages": ...}."""
    folder.mkdir(parents=True, exist_ok=True)
    wiki, passages = wiki_rows_and_passages()
    return {
        "switchboard": write_rows(switchboard_rows(**kw), folder / "switchboard.parquet"),
        "wiki": write_rows(wiki, folder / "qa.parquet"),
        "passages": write_rows(passages, folder / "passages.parquet"),
    }


def validated_inputs(folder: Path) -> dict[str, Path]:
    """Rows that passed the validators (the normal input of `build`), one file per source."""
    from classit_data.validate.validate import validate

    raw = write_inputs(folder / "raw")
    out = {"passages": raw["passages"]}
    for key in ("switchboard", "wiki"):
        kept = folder / f"{key}.kept.parquet"
        validate([str(raw[key])], kept, folder / f"{key}.rejected.parquet", folder / f"{key}.report.json",
                 passages=raw["passages"])
        out[key] = kept
    return out


class _SyntheticRows:
    """The synthetic rows above, as one fixture object."""

    switchboard_rows = staticmethod(switchboard_rows)
    wiki_rows_and_passages = staticmethod(wiki_rows_and_passages)
    write_inputs = staticmethod(write_inputs)
    validated_inputs = staticmethod(validated_inputs)


@pytest.fixture(scope="session")
def synthetic_rows() -> type[_SyntheticRows]:
    return _SyntheticRows
