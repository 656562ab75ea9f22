"""Small inputs for the classit-train tests: a text corpus, a tokenizer, a tiny base model and a dataset folder
in the layout ``classit-data build`` writes (configs switchboard / simple_wiki / merged, Parquet shards,
``README.md`` with ``configs:``), made here so the tests do not depend on the build step.

``training_data`` makes them anywhere; ``corpus_file``, ``base_model`` and ``dataset_dir`` are one shared copy
for the whole session (nothing writes into them), and ``eval_data`` is the folder of small eval task files.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
import yaml

from classit_data.core.template import render_text

NOUNS = ("river mountain village teacher garden winter kitchen market library station bridge forest island "
         "painter farmer doctor student engine window letter basket candle ladder pencil guitar rabbit turtle "
         "orchard meadow canyon glacier valley planet comet rainbow lantern compass wagon castle temple tower "
         "museum theater college harvest festival journey music poetry language number shadow").split()
VERBS = "built crossed painted carried opened watched followed visited cleaned repaired found moved".split()
FILLERS = "well you know i think really actually maybe yeah sure probably uh um".split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(VERBS) if i % 4 == 2 else rng.choice(NOUNS) for i in range(n)).capitalize() + "."


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
            rows.append({"prompt": prompt, "reply": reply, "source": source, "text": render_text(prompt, reply),
                         "doc_id": doc, "position": k})
    return rows


def write_dataset(folder: Path, n_docs: int = 6, per_doc: int = 5, validation: bool = True) -> Path:
    """A dataset folder: the last document of each source is its validation split (when ``validation``)."""
    parts: dict[str, dict[str, list[dict]]] = {}
    for i, source in enumerate(("switchboard", "simple_wiki")):
        rows = instruction_rows(source, n_docs, per_doc, seed=10 + i)
        last = rows[-1]["doc_id"]
        parts[source] = {"train": [r for r in rows if not validation or r["doc_id"] != last]}
        if validation:
            parts[source]["validation"] = [r for r in rows if r["doc_id"] == last]
    parts["merged"] = {split: parts["switchboard"][split] + parts["simple_wiki"][split]
                       for split in parts["switchboard"]}
    configs = []
    for config, splits in parts.items():
        (folder / config).mkdir(parents=True, exist_ok=True)
        for split, rows in splits.items():
            pl.DataFrame(rows).write_parquet(folder / config / f"{split}-00000-of-00001.parquet")
        configs.append({"config_name": config,
                        "data_files": [{"split": s, "path": f"{config}/{s}-*"} for s in splits]})
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
    model = LlamaForCausalLM(llama_config(preset, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                          pad_token_id=tok.pad_token_id))
    model.save_pretrained(folder)
    return folder


class _TrainingData:
    """The makers above, as one fixture object."""

    write_corpus = staticmethod(write_corpus)
    instruction_rows = staticmethod(instruction_rows)
    write_dataset = staticmethod(write_dataset)
    make_base = staticmethod(make_base)


@pytest.fixture(scope="session")
def training_data() -> type[_TrainingData]:
    return _TrainingData


@pytest.fixture(scope="session")
def train_root(tmp_path_factory) -> Path:
    """The folder of the shared corpus, base model and dataset (itself neither a model nor a dataset)."""
    return tmp_path_factory.mktemp("train")


@pytest.fixture(scope="session")
def corpus_file(train_root) -> Path:
    return write_corpus(train_root / "corpus.txt")


@pytest.fixture(scope="session")
def base_model(train_root, corpus_file) -> Path:
    return make_base(train_root / "base", corpus_file)


@pytest.fixture(scope="session")
def dataset_dir(train_root) -> Path:
    return write_dataset(train_root / "dataset")


@pytest.fixture(scope="session")
def eval_data() -> Path:
    """Small files of every eval task, in the BabyLM 2025 formats: ``blimp/``, ``supplement/``, ``ewok/``..."""
    return Path(__file__).resolve().parents[1] / "fixtures" / "eval"
