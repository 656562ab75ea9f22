"""Sentences: NLTK Punkt, with its parameters shipped as plain JSON in ``data/punkt_english.json``.

The parameters are learned by ``PunktTrainer`` (``samples/make_punkt_params.py``): no download, no pickle.
"""

from __future__ import annotations

import collections
import importlib
import importlib.util
import json
import sys
import types
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from classit_data.core.errors import InputError

PUNKT_PARAMS = Path(__file__).resolve().parent / "data" / "punkt_english.json"


@lru_cache(maxsize=1)
def punkt():
    """NLTK's ``nltk.tokenize.punkt`` module, imported without running ``nltk/__init__``.

    That ``__init__`` imports the whole toolkit, and with it SciPy and scikit-learn where they are installed:
    1-2 s in every process that splits sentences (each ``prepare-wiki`` worker), against 0.05 s for Punkt and
    the few modules it needs. The packages are stand-ins only while Punkt is imported; afterwards they are
    taken out of ``sys.modules`` so that a later ``import nltk`` loads the real toolkit.
    """
    if "nltk" in sys.modules:
        return importlib.import_module("nltk.tokenize.punkt")
    spec = importlib.util.find_spec("nltk")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("nltk is not installed: pip install nltk", name="nltk")
    root = list(spec.submodule_search_locations)[0]
    before = set(sys.modules)
    for name, path in (("nltk", root), ("nltk.tokenize", f"{root}/tokenize")):
        stand_in = types.ModuleType(name)
        stand_in.__path__ = [path]
        sys.modules[name] = stand_in
    try:
        return importlib.import_module("nltk.tokenize.punkt")
    finally:
        for name in [n for n in sys.modules if n not in before and (n == "nltk" or n.startswith("nltk."))]:
            del sys.modules[name]


def punkt_parameters_to_json(params) -> dict:
    return {
        "abbrev_types": sorted(params.abbrev_types),
        "collocations": sorted([list(c) for c in params.collocations]),
        "sent_starters": sorted(params.sent_starters),
        "ortho_context": dict(sorted(params.ortho_context.items())),
    }


def punkt_parameters_from_json(data: dict):
    params = punkt().PunktParameters()
    params.abbrev_types = set(data.get("abbrev_types", ()))
    params.collocations = {tuple(c) for c in data.get("collocations", ())}
    params.sent_starters = set(data.get("sent_starters", ()))
    params.ortho_context = collections.defaultdict(int, data.get("ortho_context", {}))
    return params


def train_punkt_parameters(texts: Iterable[str], abbreviations: Iterable[str] = (), *,
                           learn_abbreviations: bool = True):
    """Learn Punkt parameters from raw text (no download), adding abbreviations we know to be ones.

    On a small corpus Punkt mistakes sentence-final words ("30 days.") for abbreviations; there, pass
    ``learn_abbreviations=False`` to keep only the given list.
    """
    trainer = punkt().PunktTrainer()
    trainer.INCLUDE_ALL_COLLOCS = True
    for text in texts:
        trainer.train(text, finalize=False)
    trainer.finalize_training()
    params = trainer.get_params()
    if not learn_abbreviations:
        params.abbrev_types.clear()
    params.abbrev_types.update(a.lower().rstrip(".") for a in abbreviations)
    return params


@lru_cache(maxsize=4)
def sentence_splitter(params_path: str | None = None):
    """The Punkt tokenizer with the shipped parameters (or a JSON file of them)."""
    path = Path(params_path) if params_path else PUNKT_PARAMS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read Punkt parameters: {exc}", path) from exc
    return punkt().PunktSentenceTokenizer(punkt_parameters_from_json(data))


def split_sentences(text: str, params_path: str | None = None) -> list[str]:
    """Punkt's sentences, a "sentence" that starts in lowercase joined to the one before it.

    Punkt still ends a sentence at an abbreviation it does not know, or one followed by a word it has seen
    starting sentences ("the toads (Nectophrynoides spp.) are viviparous."); a sentence does not start in
    lowercase, so that cut is undone.
    """
    out: list[str] = []
    for s in sentence_splitter(params_path).tokenize(text):
        s = s.strip()
        if not s:
            continue
        if out and s[0].islower():
            out[-1] = out[-1] + " " + s
        else:
            out.append(s)
    return out
