"""Sentences: NLTK Punkt, with its parameters shipped as plain JSON in ``data/punkt_english.json``.

The parameters are learned by ``PunktTrainer`` (``samples/make_punkt_params.py``): no download, no pickle.
"""

from __future__ import annotations

import collections
import importlib
import importlib.util
import json
import re
import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass
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


def train_punkt_parameters(
    texts: Iterable[str], abbreviations: Iterable[str] = (), *, learn_abbreviations: bool = True
):
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


#: the flags that ``re`` and ``regex`` share, by name (their values differ: ``regex.ASCII`` is ``re.DEBUG``)
_SHARED_FLAGS = ("IGNORECASE", "MULTILINE", "DOTALL", "VERBOSE", "ASCII")


def _plain(pattern) -> re.Pattern:
    """The same pattern compiled by ``re`` (NLTK 3.10+ hands out ``regex`` patterns wrapped in a timeout)."""
    if isinstance(pattern, re.Pattern):
        return pattern
    engine = sys.modules["regex"]
    flags = 0
    for name in _SHARED_FLAGS:
        if pattern.flags & getattr(engine, name):
            flags |= getattr(re, name)
    return re.compile(pattern.pattern, flags)


@lru_cache(maxsize=1)
def _fixed_pattern_classes() -> tuple[type, type]:
    """Punkt's language variables and token class with NLTK's own fixed patterns compiled by ``re``.

    NLTK routes every regular expression through ``nltk.redos``: the ``regex`` engine under a timeout, a
    backstop for patterns that callers supply. Punkt's patterns are not supplied by anyone: they are NLTK's
    own, read from NLTK here, with no nested quantifiers to backtrack on. Compiled by ``re`` they split the
    same sentences three times faster (the timeout wrapper runs for every word).
    """
    module = punkt()
    stock = module.PunktLanguageVars()

    class LanguageVars(module.PunktLanguageVars):
        re_boundary_realignment = _plain(stock.re_boundary_realignment)
        _re_word_tokenizer = _plain(stock._word_tokenizer_re())
        _re_period_context = _plain(stock.period_context_re())

    fixed = {
        name: _plain(getattr(module.PunktToken, name))
        for name in ("_RE_ELLIPSIS", "_RE_NUMERIC", "_RE_INITIAL", "_RE_ALPHA")
    }
    token = type("PunktToken", (module.PunktToken,), {"__slots__": (), **fixed})
    return LanguageVars, token


#: the end of a context in which Punkt may cut without consulting its statistics: the period of a word at the
#: start of the context (letters and digits, single hyphens) or a period just after a closing quote or bracket;
#: what follows the period is checked against Punkt's own period context
_PLAIN_END = re.compile(r"(?P<word>[^\W_]+(?:-[^\W_]+)*)\.|.*[\")\]}]\.", re.DOTALL)
#: the type Punkt gives a number
_NUMBER_TYPE = "##number##"


@dataclass(frozen=True)
class PlainEnds:
    """The contexts in which Punkt cuts without consulting its statistics, decided without annotating tokens.

    Punkt tokenizes a context into words and annotates them (``text_contains_sentbreak``): a break is a word
    marked as one and followed by another word. Three contexts, most of those met in real articles, are decided
    before any statistic is looked at:

    - ``word. next``, the word of two characters or more with a letter, its parts joined by single hyphens: it
      is one token ending in a period, not an initial, not a number, not an ellipsis; Punkt marks it a break
      unless its type (or its last hyphenated part) is a known abbreviation or the first word of a known
      collocation (``blocked``).
    - ``1950. Next``, a number of ASCII digits: Punkt marks it a break, then takes the break back only where
      the next token is punctuation or starts in lowercase (its orthographic heuristic), or where the number
      type starts a collocation. A next token starting with neither keeps the break.
    - ``...". next``: a closing quote or bracket is a token by itself, so the period is a token ``.``, which
      Punkt marks as a break unless ``.`` starts a collocation.

    Each time the period must be followed by what Punkt's period context takes for the rest of the context
    (punctuation, or whitespace and a token), which makes one more word. Anything else is left to Punkt. The
    tests compare this with Punkt's own decision on every context of the sample and real pages and on
    generated ones.
    """

    #: abbreviation types and first words of collocations: a plain context with one of them goes to Punkt
    blocked: frozenset[str]
    #: Punkt's pattern of the places where it may end a sentence
    period_context: re.Pattern
    #: the tokens Punkt's orthographic heuristic says never start a sentence
    punctuation: tuple[str, ...]

    def certain_break(self, context: str) -> bool:
        """True where Punkt certainly finds a sentence break in the context; False means "ask Punkt"."""
        end = _PLAIN_END.match(context)
        if end is None:
            return False
        rest = self.period_context.match(context, end.end() - 1)
        if rest is None or rest.end("after_tok") != len(context):
            return False
        word = end.group("word")
        if word is None:
            return "." not in self.blocked
        if word.isascii() and word.isdigit():
            first = (rest.group("next_tok") or rest.group("after_tok"))[0]
            return not (first.islower() or first in self.punctuation or {word, _NUMBER_TYPE} & self.blocked)
        if len(word) < 2 or word.replace("-", "").isdecimal():  # an initial; a number with hyphens or other digits
            return False
        word = word.lower()
        return word not in self.blocked and ("-" not in word or word.split("-")[-1] not in self.blocked)


@lru_cache(maxsize=1)
def _tokenizer_class() -> type:
    """Punkt's sentence tokenizer, deciding the plain contexts itself (:class:`PlainEnds`) and every other one
    as NLTK does."""

    class SentenceTokenizer(punkt().PunktSentenceTokenizer):
        plain: PlainEnds

        def text_contains_sentbreak(self, text: str) -> bool:
            return self.plain.certain_break(text) or super().text_contains_sentbreak(text)

    return SentenceTokenizer


def _period_context() -> re.Pattern:
    """Punkt's pattern of the places where it may end a sentence (the one its tokenizer searches)."""
    return _fixed_pattern_classes()[0]._re_period_context


@lru_cache(maxsize=4)
def sentence_splitter(params_path: str | None = None):
    """The Punkt tokenizer with the shipped parameters (or a JSON file of them)."""
    path = Path(params_path) if params_path else PUNKT_PARAMS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read Punkt parameters: {exc}", path) from exc
    language_vars, token = _fixed_pattern_classes()
    params = punkt_parameters_from_json(data)
    splitter = _tokenizer_class()(params, lang_vars=language_vars(), token_cls=token)
    blocked = frozenset(params.abbrev_types) | {first for first, _ in params.collocations}
    splitter.plain = PlainEnds(blocked, language_vars._re_period_context, splitter.PUNCTUATION)
    return splitter


def split_sentences(text: str, params_path: str | None = None) -> list[str]:
    """Punkt's sentences, a "sentence" that starts in lowercase joined to the one before it.

    Punkt still ends a sentence at an abbreviation it does not know, or one followed by a word it has seen
    starting sentences ("the toads (Nectophrynoides spp.) are viviparous."); a sentence does not start in
    lowercase, so that cut is undone.

    Punkt considers a cut only where its period context matches (a ``.``, ``?`` or ``!`` followed by
    punctuation, or by whitespace and a token); a paragraph without one is a single sentence, which Punkt
    returns without its trailing whitespace (``_slices_from_text``, then ``_realign_boundaries``): that is
    returned without running Punkt.
    """
    splitter = sentence_splitter(params_path)
    if _period_context().search(text) is None:
        whole = text.strip()
        return [whole] if whole else []
    out: list[str] = []
    for s in splitter.tokenize(text):
        s = s.strip()
        if not s:
            continue
        if out and s[0].islower():
            out[-1] = out[-1] + " " + s
        else:
            out.append(s)
    return out
