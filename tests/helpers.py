"""The shared test helpers and constants; the fixtures are in the ``conftest.py`` files and wrap these.

- paths: ``ROOT`` (the checkout), ``FIXTURES`` (``tests/fixtures``), ``CORPORA`` (the real corpora beside the
  checkout, or ``$CLASSIT_CORPORA``);
- commands: ``run_cli`` (a console entry point in a process of its own: a child of a preloaded interpreter,
  ``INTERPRETERS``, or a new one) and ``one_error_line`` (the one line a refused command prints);
- hand-written item rows of both sources, for the checks: ``sw(...)``/``qa(...)`` with any field overridden,
  ``good_rows()``, ``items_frame(rows)``, ``passages_frame()`` and their texts ``PASSAGES``, ``PASSAGE_IDS``,
  ``SWITCHBOARD_PAIRS``, ``QA_PAIRS``;
- synthetic item rows, larger and deterministic with full provenance, for build, publish and training:
  ``switchboard_rows``, ``wiki_rows_and_passages``, ``write_inputs`` (raw, on disk), ``validated_inputs``
  (through the validators);
- generate-wiki: the passage texts ``TEXTS`` and ``_passage_rows``, ``kill_after_first_chunk``, the stub runs'
  ``STUB_PASSAGES``, ``RAY_ENV``, ``stub_args``, ``same_outputs``, ``wait_for``, and ``tiny_chat_model``;
- process trees: ``gone``, ``wait_gone``, ``kill_all``;
- classit-train inputs: ``write_corpus``, ``instruction_rows``, ``write_dataset``, ``make_base`` and their words
  ``NOUNS``, ``VERBS``, ``FILLERS``.

All text is our own, made by one small sentence generator (``_sentence``).
"""

from __future__ import annotations

import atexit
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import psutil
import yaml

from classit_data.core.io import write_rows
from classit_data.core.schema import ITEM_SCHEMA, PASSAGE_SCHEMA, Item, Passage
from classit_data.core.template import render_text
from tests.preloaded import Interpreter

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
#: real corpora live beside the checkout, never inside it
CORPORA = Path(os.environ.get("CLASSIT_CORPORA", ROOT.parent / "shared" / "corpora"))


# --- commands ----------------------------------------------------------------------------------------------------


def wiki_dump(where: str, request) -> Path:
    """The bundled sample dump (``where == "sample"``) or the real export of ``../shared/corpora``, whose test is
    skipped without the corpora (through the ``corpora`` fixture)."""
    if where == "sample":
        return ROOT / "samples" / "simplewiki_sample.xml.bz2"
    return request.getfixturevalue("corpora") / "wiki_real" / "enwiki-special-export-20171220.xml.bz2"


class Interpreters:
    """The preloaded interpreters of this test process (``tests/preloaded.py``), one per environment, made on the
    second command run with that environment (a one-off environment runs in a fresh interpreter); ``fresh``
    (set per test from its ``fresh_interpreter`` marker) runs every command in a new interpreter."""

    MOST = 4
    #: variables that change from test to test and that no import reads: not part of an interpreter's environment
    PER_TEST = ("PYTEST_CURRENT_TEST",)

    def __init__(self) -> None:
        self.fresh = False
        self.seen: set[tuple] = set()
        self.alive: dict[tuple, Interpreter] = {}
        atexit.register(self.close)

    def get(self, env: dict[str, str]) -> Interpreter | None:
        key = tuple(sorted((k, v) for k, v in env.items() if k not in self.PER_TEST))
        if self.fresh or key not in self.seen:
            self.seen.add(key)
            return None
        if key not in self.alive:
            if len(self.alive) >= self.MOST:
                self.alive.pop(next(iter(self.alive))).close()
            self.alive[key] = Interpreter(env, ROOT)
        return self.alive[key]

    def close(self) -> None:
        while self.alive:
            self.alive.popitem()[1].close()


INTERPRETERS = Interpreters()


def run_cli(
    *args: str, module: str = "classit_data", env: dict | None = None, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run the real console entry point in a process of its own, the way a user does: a child of a preloaded
    interpreter (``tests/preloaded.py``), or a new interpreter where the test asks for one."""
    full_env = {**os.environ, **(env or {})}
    preloaded = INTERPRETERS.get(full_env)
    if preloaded is not None:
        return preloaded.run(module, [str(a) for a in args], full_env, cwd or ROOT, timeout)
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=timeout,
    )


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


# --- words and sentences -----------------------------------------------------------------------------------------

#: the words of the training inputs (``write_corpus``, ``instruction_rows``)
NOUNS = (
    "river mountain village teacher garden winter kitchen market library station bridge forest island "
    "painter farmer doctor student engine window letter basket candle ladder pencil guitar rabbit turtle "
    "orchard meadow canyon glacier valley planet comet rainbow lantern compass wagon castle temple tower "
    "museum theater college harvest festival journey music poetry language number shadow"
).split()
VERBS = "built crossed painted carried opened watched followed visited cleaned repaired found moved".split()
FILLERS = "well you know i think really actually maybe yeah sure probably uh um".split()
#: the (longer) word list and fillers of the synthetic item rows: other lists would give other rows
ROW_WORDS = (
    "river mountain village teacher garden winter summer kitchen market library station bridge forest "
    "island harbor painter farmer doctor student engine window letter pocket basket candle mirror "
    "ladder blanket pencil guitar violin rabbit turtle falcon salmon orchard meadow canyon glacier "
    "desert valley planet comet thunder rainbow lantern compass anchor saddle wagon carpet pillow "
    "orange lemon cherry pepper ginger walnut barley wheat cotton copper silver marble granite timber "
    "castle temple tower cottage factory museum theater stadium airport college hospital prison "
    "council senate empire kingdom province county parish harvest festival wedding journey voyage "
    "battle treaty science history music poetry theory language number shadow silence courage"
).split()
ROW_FILLERS = "well you know i think really actually maybe yeah sure probably".split()


def _sentence(rng: random.Random, n: int, nouns: Sequence[str] = NOUNS) -> str:
    """``n`` words drawn from ``nouns``, every fourth from the third on a verb, capitalised, with a full stop."""
    return " ".join(rng.choice(VERBS) if i % 4 == 2 else rng.choice(nouns) for i in range(n)).capitalize() + "."


# --- hand-written item rows: good rows of both sources and their passages ----------------------------------------


def items_frame(rows: list[dict]) -> pl.DataFrame:
    """Rows (dicts with item fields) as a frame with the item schema and column order."""
    return pl.DataFrame(rows, schema=ITEM_SCHEMA, strict=False)


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
    (
        "Oh, that's nice. We used to have a collie when I was growing up.",
        "They're great dogs, they really are, but they shed all over everything.",
    ),
    (
        "So how do you feel about the public schools in your area?",
        "Well, I think they're doing the best they can with the money they get.",
    ),
    ("Uh-huh.", "But the classes are just too big, I mean, thirty kids in a room."),
    ("No, no, no, no, no, no, no, it's not expensive at all.", "Really? I always thought it would cost a lot."),
]
QA_PAIRS = [
    (
        "moon",
        "What is the only natural satellite of the Earth?",
        "The Moon is the only natural satellite of the Earth.",
    ),
    ("moon", "When did people first walk on the Moon?", "People first walked on the Moon in 1969."),
    ("bees", "Who collects nectar from flowers?", "Worker bees collect nectar from flowers and make honey from it."),
    ("bees", "How many queens does a colony have?", "Each colony has one queen."),
    ("nile", "Where does the Nile flow?", "It flows north into the Mediterranean Sea."),
    ("nile", "Is the land near the Nile good for farming?", "Yes, it is."),
]


def sw(
    prompt: str = SWITCHBOARD_PAIRS[0][0],
    reply: str = SWITCHBOARD_PAIRS[0][1],
    *,
    doc: str = "sw2001",
    position: int = 1,
    **over,
) -> dict:
    """A valid switchboard row, any field overridden."""
    row = {
        "source": "switchboard",
        "prompt": prompt,
        "reply": reply,
        "text": render_text(prompt, reply),
        "doc_id": doc,
        "position": position,
        "origin": "switchboard.train (babylm)",
        "passage_id": None,
        "model": None,
        "model_revision": None,
        "prompt_hash": None,
        "sampling": None,
        "seed": None,
    }
    row["id"] = Item.make_id("switchboard", doc, position, prompt, reply)
    row.update(over)
    return row


def qa(
    prompt: str = QA_PAIRS[0][1], reply: str = QA_PAIRS[0][2], *, passage: str = "moon", position: int = 0, **over
) -> dict:
    """A valid simple_wiki row on one of ``PASSAGES``, any field overridden."""
    pid = PASSAGE_IDS.get(passage, passage)
    doc = str(100 + list(PASSAGES).index(passage)) if passage in PASSAGES else "999"
    row = {
        "source": "simple_wiki",
        "prompt": prompt,
        "reply": reply,
        "text": render_text(prompt, reply),
        "doc_id": doc,
        "position": position,
        "origin": "passages.parquet",
        "passage_id": pid,
        "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "model_revision": "main",
        "prompt_hash": "0123456789abcdef",
        "sampling": json.dumps({"temperature": 0.7}),
        "seed": 0,
    }
    row["id"] = Item.make_id("simple_wiki", doc, position, prompt, reply)
    row.update(over)
    return row


def good_rows() -> list[dict]:
    """Six switchboard rows, then six simple_wiki rows: all pass the checks."""
    rows = [sw(p, r, position=i + 1) for i, (p, r) in enumerate(SWITCHBOARD_PAIRS)]
    rows += [qa(q, a, passage=k, position=i) for i, (k, q, a) in enumerate(QA_PAIRS)]
    return rows


def passages_frame() -> pl.DataFrame:
    """``PASSAGES`` as a passage frame."""
    return pl.DataFrame(
        [
            {
                "passage_id": PASSAGE_IDS[k],
                "article_id": str(100 + i),
                "title": k.title(),
                "section": "",
                "text": t,
                "n_words": len(t.split()),
            }
            for i, (k, t) in enumerate(PASSAGES.items())
        ],
        schema=PASSAGE_SCHEMA,
    )


# --- synthetic item rows: larger, deterministic, with full provenance --------------------------------------------


def switchboard_rows(n_conversations: int = 12, turns: int = 8, seed: int = 1) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for c in range(n_conversations):
        doc = f"sw{2000 + c}"
        utterances = [
            " ".join([rng.choice(ROW_FILLERS), _sentence(rng, rng.randint(6, 16), ROW_WORDS).lower()]).capitalize()
            for _ in range(turns)
        ]
        for pos in range(1, turns):
            prompt, reply = utterances[pos - 1], utterances[pos]
            rows.append(
                {
                    "id": Item.make_id("switchboard", doc, pos, prompt, reply),
                    "source": "switchboard",
                    "prompt": prompt,
                    "reply": reply,
                    "text": render_text(prompt, reply),
                    "doc_id": doc,
                    "position": pos,
                    "origin": "switchboard_sample.train (babylm)",
                }
            )
    return items_frame(rows)


def wiki_rows_and_passages(
    n_articles: int = 10,
    passages_per_article: int = 2,
    seed: int = 2,
    model: str = "HuggingFaceTB/SmolLM2-135M-Instruct",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(seed)
    rows, passages = [], []
    sampling = json.dumps({"temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.2}, sort_keys=True)
    for a in range(n_articles):
        article, title = str(100 + a), f"{rng.choice(ROW_WORDS).capitalize()} {rng.choice(ROW_WORDS)}"
        for p in range(passages_per_article):
            sentences = [_sentence(rng, rng.randint(9, 16), ROW_WORDS) for _ in range(5)]
            text = " ".join(sentences)
            pid = Passage.make_id(article, "Introduction", text)
            passages.append(
                {
                    "passage_id": pid,
                    "article_id": article,
                    "title": title,
                    "section": "Introduction",
                    "text": text,
                    "n_words": len(text.split()),
                }
            )
            for q in range(2):
                answer = sentences[1 + 2 * q]
                subject = answer.split()[0].lower()
                prompt = f"What does the text say about the {subject} in {title}?"
                pos = p * 2 + q
                rows.append(
                    {
                        "id": Item.make_id("simple_wiki", article, pos, prompt, answer),
                        "source": "simple_wiki",
                        "prompt": prompt,
                        "reply": answer,
                        "text": render_text(prompt, answer),
                        "doc_id": article,
                        "position": pos,
                        "origin": "passages.parquet",
                        "passage_id": pid,
                        "model": model,
                        "model_revision": "main",
                        "prompt_hash": "5f0c2a9d1e3b4c7a",
                        "sampling": sampling,
                        "seed": 0,
                    }
                )
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
        validate(
            [str(raw[key])],
            kept,
            folder / f"{key}.rejected.parquet",
            folder / f"{key}.report.json",
            passages=raw["passages"],
        )
        out[key] = kept
    return out


# --- generate-wiki: passages, killed runs, runs against the OpenAI-compatible stub -------------------------------

TEXTS = [
    (
        "Moon",
        "",
        "The Moon is the only natural satellite of the Earth. It is about one quarter the size of the "
        "Earth. The Moon has no air, so there is no weather there. People first walked on the Moon in 1969.",
    ),
    (
        "Honey bee",
        "Life",
        "Honey bees live in large groups called colonies. Each colony has one queen, many "
        "female workers and a few male drones. Worker bees collect nectar from flowers and make honey from it.",
    ),
    (
        "Nile",
        "",
        "The Nile is a long river in Africa. It flows north into the Mediterranean Sea. Many people in "
        "Egypt live close to the river because the land near it is good for farming.",
    ),
    (
        "Volcano",
        "Eruptions",
        "A volcano is an opening in the ground where hot melted rock comes out. The melted "
        "rock is called lava when it reaches the surface. Some volcanoes stay quiet for thousands of years.",
    ),
    (
        "Piano",
        "",
        "The piano is a musical instrument played with a keyboard. When a key is pressed, a small "
        "hammer hits a string inside the piano. Bartolomeo Cristofori built the first piano in Italy.",
    ),
    (
        "Penguin",
        "Food",
        "Penguins are birds that cannot fly. They live mostly in the southern half of the world. "
        "Penguins swim very well and eat fish, squid and small sea animals called krill.",
    ),
]


def _passage_rows(n: int = len(TEXTS)) -> list[dict]:
    """Passage rows of the six ``TEXTS``, then numbered copies of them."""
    rows = []
    for i in range(n):
        title, section, text = TEXTS[i % len(TEXTS)]
        if i >= len(TEXTS):
            text = f"{text} This is copy number {i // len(TEXTS) + 1}."
        article_id = str(1000 + i)
        rows.append(
            {
                "passage_id": Passage.make_id(article_id, section, text),
                "article_id": article_id,
                "title": title,
                "section": section,
                "text": text,
                "n_words": len(text.split()),
            }
        )
    return rows


def kill_after_first_chunk(cmd: list[str], out: Path, env: dict, cwd: Path = ROOT, timeout: float = 240) -> int:
    """Start ``cmd`` in its own process group, ``kill -9`` the group once a chunk file is in ``out``; the chunk
    files there at the kill."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.time() + timeout
        while not list((out / "chunks").glob("*/chunk-*.parquet")) and time.time() < deadline:
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    return len(list((out / "chunks").glob("*/chunk-*.parquet")))


#: passages of the stub runs, and the environment of their CLI runs
STUB_PASSAGES = 20
RAY_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RAY_DEDUP_LOGS": "0"}


def stub_args(many, out, stub, *extra) -> list:
    """generate-wiki's arguments for a run of the passages ``many`` against the stub server ``stub``."""
    return [
        "--passages",
        many,
        "--out",
        out,
        "--backend",
        "openai",
        "--base-url",
        stub.url,
        "--chunk-size",
        "2",
        "--json",
        *extra,
    ]


def same_outputs(out: Path, ref: Path) -> dict:
    """Assert that two runs wrote the same rows and summary counts; the summary of ``out``."""
    for name in ("qa.parquet", "rejects.parquet"):
        assert pl.read_parquet(out / name).equals(pl.read_parquet(ref / name)), name
    s, r = (json.loads((d / "summary.json").read_text()) for d in (out, ref))
    for key in ("passages_done", "pairs", "rejected_outputs_by_reason", "duplicate_records", "model", "output_tokens"):
        assert s[key] == r[key], key
    return s


def wait_for(cond, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --- process trees -----------------------------------------------------------------------------------------------


def gone(proc: psutil.Process) -> bool:
    """Dead: no longer running, or a zombie (re-parented ones may wait for a reaper that never comes)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """The processes still alive after up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (alive := [p for p in procs if not gone(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def kill_all(procs: list[psutil.Process]) -> None:
    for p in procs:
        if not gone(p):
            p.kill()


# --- classit-train inputs: a corpus, a dataset folder in the layout ``classit-data build`` writes, a base model ---


def write_corpus(path: Path, lines: int = 400, seed: int = 0) -> Path:
    """Switchboard-like ``A:\\t...`` lines, a blank line every 50 (document breaks)."""
    rng = random.Random(seed)
    out = []
    for i in range(lines):
        speaker = "AB"[i % 2]
        out.append(f"{speaker}:\t{rng.choice(FILLERS).capitalize()}, {_sentence(rng, rng.randint(4, 14)).lower()}")
        if i % 50 == 49:
            out.append("")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def instruction_rows(source: str, n_docs: int, per_doc: int, seed: int) -> list[dict]:
    """Dataset rows of one source: ``n_docs`` documents of ``per_doc`` prompt/reply pairs."""
    rng = random.Random(seed)
    rows = []
    for d in range(n_docs):
        doc = f"{source[:2]}{d:03d}"
        for k in range(per_doc):
            if source == "switchboard":
                prompt = f"{rng.choice(FILLERS).capitalize()}, {_sentence(rng, rng.randint(3, 12)).lower()}"
                reply = f"{rng.choice(FILLERS).capitalize()}, {_sentence(rng, rng.randint(2, 14)).lower()}"
            else:
                prompt = f"What {rng.choice(VERBS)} the {rng.choice(NOUNS)} in the {rng.choice(NOUNS)}?"
                reply = " ".join(_sentence(rng, rng.randint(5, 12)) for _ in range(rng.randint(1, 3)))
            rows.append(
                {
                    "prompt": prompt,
                    "reply": reply,
                    "source": source,
                    "text": render_text(prompt, reply),
                    "doc_id": doc,
                    "position": k,
                }
            )
    return rows


def write_dataset(folder: Path, n_docs: int = 6, per_doc: int = 5, validation: bool = True) -> Path:
    """A dataset folder (configs switchboard / simple_wiki / merged, Parquet shards, ``README.md`` with
    ``configs:``): the last document of each source is its validation split (when ``validation``)."""
    parts: dict[str, dict[str, list[dict]]] = {}
    for i, source in enumerate(("switchboard", "simple_wiki")):
        rows = instruction_rows(source, n_docs, per_doc, seed=10 + i)
        last = rows[-1]["doc_id"]
        parts[source] = {"train": [r for r in rows if not validation or r["doc_id"] != last]}
        if validation:
            parts[source]["validation"] = [r for r in rows if r["doc_id"] == last]
    parts["merged"] = {
        split: parts["switchboard"][split] + parts["simple_wiki"][split] for split in parts["switchboard"]
    }
    configs = []
    for config, splits in parts.items():
        (folder / config).mkdir(parents=True, exist_ok=True)
        for split, rows in splits.items():
            pl.DataFrame(rows).write_parquet(folder / config / f"{split}-00000-of-00001.parquet")
        configs.append({"config_name": config, "data_files": [{"split": s, "path": f"{config}/{s}-*"} for s in splits]})
    card = "---\n" + yaml.safe_dump({"configs": configs}, sort_keys=False) + "---\n\n# test dataset\n"
    (folder / "README.md").write_text(card, encoding="utf-8")
    return folder


def make_base(folder: Path, corpus: Path, preset: str = "tiny", seed: int = 0) -> Path:
    """A tokenizer trained on the corpus and a randomly initialised preset model, saved as a model folder."""
    import torch
    from transformers import LlamaForCausalLM

    from classit_train.presets import llama_config, model_preset
    from classit_train.tokenizer import train_tokenizer

    tok = train_tokenizer([corpus], model_preset(preset)["vocab_size"], folder)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(
        llama_config(
            preset, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id
        )
    )
    model.save_pretrained(folder)
    return folder


def tiny_chat_model(folder: Path, seed: int = 0, weight_std: float | None = None, **config) -> Path:
    """The embedded model's tokenizer and chat template on a randomly initialised two-layer LLaMA, saved as a
    model folder: for the commands' own behaviour (same bytes, resuming, replicas, shards, scoring), where what
    the model writes does not matter and the embedded model's generation would be most of the test's time.
    ``config`` overrides the LLaMA settings; ``weight_std`` redraws the matrices wider than the default
    initialisation, so that log-probabilities differ clearly between tokens."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from classit_data.core.models import embedded_model_dir

    tok = AutoTokenizer.from_pretrained(embedded_model_dir())
    tok.save_pretrained(folder)
    torch.manual_seed(seed)
    settings = dict(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(LlamaConfig(**{**settings, **config}))
    if weight_std is not None:
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() > 1:
                    p.normal_(0, weight_std)
    model.save_pretrained(folder)
    return folder
