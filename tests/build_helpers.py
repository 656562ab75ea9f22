"""Item rows for the build and publish tests: small, varied, deterministic, with full provenance.

Switchboard rows are adjacent turns of made-up conversations; wiki rows are questions about made-up
passages whose answer is one sentence of the passage (so a grounding check finds it).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl

from classit_data.io import write_rows
from classit_data.schema import PASSAGE_SCHEMA, Item, Passage, items_frame
from classit_data.template import render_text

WORDS = (
    "river mountain village teacher garden winter summer kitchen market library station bridge forest "
    "island harbor painter farmer doctor student engine window letter pocket basket candle mirror "
    "ladder blanket pencil guitar violin rabbit turtle falcon salmon orchard meadow canyon glacier "
    "desert valley planet comet thunder rainbow lantern compass anchor saddle wagon carpet pillow "
    "orange lemon cherry pepper ginger walnut barley wheat cotton copper silver marble granite timber "
    "castle temple tower cottage factory museum theater stadium airport college hospital prison "
    "council senate empire kingdom province county parish harvest festival wedding journey voyage "
    "battle treaty science history music poetry theory language number shadow silence courage"
).split()
VERBS = "built crossed painted carried opened watched followed visited cleaned repaired found moved".split()
FILLERS = "well you know i think really actually maybe yeah sure probably".split()


def _sentence(rng: random.Random, n: int) -> str:
    words = []
    for i in range(n):
        words.append(rng.choice(VERBS) if i % 4 == 2 else rng.choice(WORDS))
    return " ".join(words).capitalize() + "."


def switchboard_rows(n_conversations: int = 12, turns: int = 8, seed: int = 1) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for c in range(n_conversations):
        doc = f"sw{2000 + c}"
        utterances = [" ".join([rng.choice(FILLERS), _sentence(rng, rng.randint(6, 16)).lower()]).capitalize()
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
        article, title = str(100 + a), f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}"
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
    """Rows that passed issue 5's validators (the normal input of `build`), one file per source."""
    from classit_data.validate import validate_rows

    raw = write_inputs(folder / "raw")
    out = {"passages": raw["passages"]}
    for key in ("switchboard", "wiki"):
        kept = folder / f"{key}.kept.parquet"
        validate_rows([str(raw[key])], kept, folder / f"{key}.rejected.parquet", folder / f"{key}.report.json",
                      passages=raw["passages"])
        out[key] = kept
    return out
