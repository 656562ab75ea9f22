"""Item rows for the validate / dedup / stats tests: good rows of both sources, and a passage file.

All text is our own. ``sw(...)`` and ``qa(...)`` give a valid row (id and text computed) with any field
overridden; ``frame(rows)`` makes the typed frame the validators read.
"""

from __future__ import annotations

import json

import polars as pl

from classit_data.schema import PASSAGE_SCHEMA, Item, Passage, items_frame
from classit_data.template import render_text

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


def frame(rows: list[dict]) -> pl.DataFrame:
    return items_frame(rows)


def passages_frame() -> pl.DataFrame:
    return pl.DataFrame([{"passage_id": PASSAGE_IDS[k], "article_id": str(100 + i), "title": k.title(), "section": "",
                          "text": t, "n_words": len(t.split())} for i, (k, t) in enumerate(PASSAGES.items())],
                        schema=PASSAGE_SCHEMA)
