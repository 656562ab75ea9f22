"""Simple English Wikipedia articles -> clean passages, the input of QA generation (issue 3).

Steps, each counting what it did:

1. read: a reader per input format streams :class:`~classit_data.wiki.readers.base.Article` records
   (``classit_data.wiki.readers.base*``); pages that are not articles come back with a skip reason;
2. clean: wikitext goes through mwparserfromhell (templates, references, tables, galleries, files and
   images with their captions, categories, interlanguage links, magic words and comments are dropped; links
   become their text; headings split sections); list items, boilerplate sections (References, Other
   websites...) and caption-like fragments are left out; an article with less prose than
   ``min_article_words`` is a stub (or a list, when list items outweigh its prose) and is left out;
3. sentences: NLTK Punkt with parameters shipped as JSON in ``classit_data/data/punkt_english.json``
   (learned by ``PunktTrainer``, no download, no pickle);
4. passages: consecutive sentences of one section, cut into near-equal runs of at most ``max_words``
   and at least ``min_words`` words, never crossing a section or an article.

Articles are cleaned in worker processes (``workers``, default every core) in batches, while the main
process reads the input and writes Parquet row groups as batches come back in order; memory stays bounded
by the number of batches in flight.
"""

from __future__ import annotations

import collections
import itertools
import json
import math
import multiprocessing
import os
import re
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import mwparserfromhell
from mwparserfromhell.nodes import Comment, ExternalLink, Heading, HTMLEntity, Tag, Template, Text, Wikilink

from classit_data.core.errors import InputError
from classit_data.core.schema import PASSAGE_SCHEMA, Passage
from classit_data.wiki.readers.base import (
    BYTES_READ, PLAIN, Article, detect_format, iter_articles, normalize_format,
)

#: ~160 words is ~210 Llama-3 tokens: a few facts, enough context for a 3B model to ask and answer
#: 2-3 self-contained questions without drifting to facts the passage does not state
DEFAULT_MAX_WORDS = 160
#: below ~40 words (two short sentences) a passage rarely holds a question worth asking
DEFAULT_MIN_WORDS = 40
#: an article with less prose than this is a stub: one thin passage at most, usually a template sentence
DEFAULT_MIN_ARTICLE_WORDS = 60

PUNKT_PARAMS = Path(__file__).resolve().parent / "data" / "punkt_english.json"

#: sections whose content is references, links or galleries, never prose worth asking about
BOILERPLATE_SECTIONS = frozenset({
    "references", "notes", "footnotes", "citations", "sources", "bibliography", "works cited",
    "notes and references", "references and notes", "external links", "other websites", "related pages",
    "see also", "other pages", "further reading", "gallery", "images", "discography", "filmography",
})

_FILE_NS = frozenset({"file", "image", "media"})
_CATEGORY_NS = frozenset({"category"})
#: prefixes of visible interwiki links (they show their text); language codes without a colon are hidden
_PROJECT_PREFIXES = frozenset({
    "wikt", "wiktionary", "w", "wikipedia", "wp", "commons", "c", "q", "wikiquote", "s", "wikisource",
    "b", "wikibooks", "n", "wikinews", "v", "wikiversity", "voy", "wikivoyage", "d", "wikidata", "m", "meta",
    "species", "wikispecies", "mw", "simple", "en", "help", "template", "user", "talk", "portal", "special",
})
_LANG_CODE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")

#: tags whose content is not prose: references, tables, galleries, maths, code, media, layout data
_DROP_TAGS = frozenset({
    "ref", "references", "table", "gallery", "math", "chem", "ce", "code", "pre", "syntaxhighlight", "source",
    "score", "timeline", "imagemap", "graph", "mapframe", "maplink", "templatedata", "hiero", "inputbox",
    "categorytree", "includeonly", "noinclude", "templatestyles", "poem", "caption",
    "tr", "td", "th", "img", "figure", "style", "script",
})
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")

#: templates that only print a symbol or a space
_SYMBOL_TEMPLATES = {"nbsp": " ", "ndash": "–", "mdash": "—", "snd": " – ", "spaced ndash": " – ", "dash": " – ",
                     "·": " · ", "!": "|", "=": "="}
_HEADING = "\x01"  # line marker: a section heading follows
_LIST = "\x02"  # line marker: a list item (or indented line) follows

#: cheap pre-pass before parsing (the parser's tree building is most of the cost): references cannot
#: nest, comments never hold prose, category and interlanguage links are invisible
_PRE_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_PRE_REF = re.compile(r"<ref(?:\s[^>]*?)?/>|<ref(?:\s[^>]*)?>.*?</ref\s*>", re.S | re.I)
_PRE_HIDDEN_LINK = re.compile(r"\[\[\s*(?:(?i:category)|[a-z]{2,3}(?:-[a-z]+)*)\s*:[^\[\]\n]*\]\]")
_MAGIC = re.compile(r"__[A-Z]+__")
_QUOTES = re.compile(r"'{2,}")
_SPACES = re.compile(r"\s+")
_EMPTY_PARENS = re.compile(r"\(\s*(?:[,;:.\-\u2013]\s*)*\)")
_OPEN_PUNCT = re.compile(r"\(\s*[,;:]\s*")
_CLOSE_PUNCT = re.compile(r"\s*[,;:]\s*\)")
_SPACE_BEFORE = re.compile(r"\s+([,.;:!?)\]])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[])\s+")
_DOUBLE_PUNCT = re.compile(r"([,;:])(?:\s*[,;:])+")
_PLAIN_HEADING = re.compile(r"^\s*(=+(?: ?=)*)\s*(.+?)\s*(=+(?: ?=)*)\s*$")
_BULLET = re.compile(r"^\s*(?:[*#•·\-–—]|\d+[.)])\s+")
_TABLE_LINE = re.compile(r"^\s*(?:\{\||\|\}|\|-|\||!)")
_TERMINAL = re.compile(r"[.!?][\"'’”)\]]*$")
#: what is left of markup the parser could not close (a broken page): such a sentence is not prose
_RESIDUE = re.compile(r"\{\{|\}\}|\[\[|\]\]|\{\||\|\}|\||</?[a-zA-Z][^>]*>|<!--|-->|https?://")


@dataclass(frozen=True)
class PassageConfig:
    max_words: int = DEFAULT_MAX_WORDS
    min_words: int = DEFAULT_MIN_WORDS
    min_article_words: int = DEFAULT_MIN_ARTICLE_WORDS


# --- sentences --------------------------------------------------------------------------------------


def punkt_parameters_to_json(params) -> dict:
    return {
        "abbrev_types": sorted(params.abbrev_types),
        "collocations": sorted([list(c) for c in params.collocations]),
        "sent_starters": sorted(params.sent_starters),
        "ortho_context": dict(sorted(params.ortho_context.items())),
    }


def punkt_parameters_from_json(data: dict):
    from nltk.tokenize.punkt import PunktParameters

    params = PunktParameters()
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
    from nltk.tokenize.punkt import PunktTrainer

    trainer = PunktTrainer()
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
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    path = Path(params_path) if params_path else PUNKT_PARAMS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read Punkt parameters: {exc}", path) from exc
    return PunktSentenceTokenizer(punkt_parameters_from_json(data))


def split_sentences(text: str, params_path: str | None = None) -> list[str]:
    return [s.strip() for s in sentence_splitter(params_path).tokenize(text) if s.strip()]


# --- cleaning ---------------------------------------------------------------------------------------


@dataclass
class CleanArticle:
    """An article as prose: ``sections`` is a list of (heading, paragraphs); the rest is what was left out."""

    sections: list[tuple[str, list[str]]]
    list_words: int = 0
    fragment_words: int = 0
    boilerplate_sections: int = 0

    @property
    def prose_words(self) -> int:
        return sum(len(p.split()) for _, paras in self.sections for p in paras)


def tidy(text: str) -> str:
    """Whitespace and the punctuation that removed templates leave behind: ``( ; born )``, ``word ,``."""
    text = _MAGIC.sub("", text)
    text = _QUOTES.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _OPEN_PUNCT.sub("(", text)
    text = _CLOSE_PUNCT.sub(")", text)
    text = _EMPTY_PARENS.sub("", text)
    text = _SPACE_AFTER_OPEN.sub(r"\1", text)
    text = _SPACE_BEFORE.sub(r"\1", text)
    text = _DOUBLE_PUNCT.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def _date_text(params: list[str]) -> str:
    """``{{birth date|1950|5|17}}`` -> ``17 May 1950`` (only the numbers; extra parameters ignored)."""
    nums = [p for p in params if p.strip().isdigit()]
    if len(nums) >= 3 and 1 <= int(nums[1]) <= 12:
        return f"{int(nums[2])} {_MONTHS[int(nums[1]) - 1]} {nums[0]}"
    if len(nums) == 2 and 1 <= int(nums[1]) <= 12:
        return f"{_MONTHS[int(nums[1]) - 1]} {nums[0]}"
    return nums[0] if nums else ""


def _inline_template(node) -> str | None:
    """The visible text of the few templates that stand for words inside a sentence; None for the rest."""
    name = str(node.name).strip().lower().replace("_", " ")
    positional = [str(p.value).strip() for p in node.params if not p.showkey]
    if name in ("nowrap", "nobr", "small", "sic", "nihongo", "ill", "interlanguage link", "lang-en"):
        return _plain_of(positional[0]) if positional else ""
    if name == "lang" and len(positional) >= 2:
        return _plain_of(positional[1])
    if name.startswith("lang-") and positional:
        return _plain_of(positional[0])
    if name in ("convert", "cvt") and len(positional) >= 2:
        if len(positional) >= 4 and positional[1] in ("-", "–", "to", "and", "or", "by", "x", "+/-"):
            return " ".join(positional[:4])  # a range: {{convert|5|to|10|km}}
        return f"{positional[0]} {positional[1]}"
    if name.startswith("formatnum:"):
        return str(node.name).split(":", 1)[1].strip()
    if name in _SYMBOL_TEMPLATES:
        return _SYMBOL_TEMPLATES[name]
    if name in ("birth date", "birth date and age", "death date", "death date and age", "start date",
                "end date", "dts", "date"):
        return _date_text(positional)
    if name in ("circa", "c."):
        return "c."
    return None


def _plain_of(wikitext: str) -> str:
    out: list[str] = []
    _render(mwparserfromhell.parse(wikitext), out)
    return "".join(out).replace(_LIST, "").replace(_HEADING, "")


def _link_text(node, out: list[str]) -> None:
    title = str(node.title).strip()
    colon = title.startswith(":")
    bare = title.lstrip(":").strip()
    prefix, sep, rest = bare.partition(":")
    p = prefix.strip().lower()
    if sep:
        if p in _FILE_NS:
            return  # an image or file, caption included
        if p in _CATEGORY_NS and not colon:
            return  # category membership, invisible on the page
        if not colon and p not in _PROJECT_PREFIXES and _LANG_CODE.match(p):
            return  # interlanguage link, shown in the sidebar, not the text
    if node.text is not None:
        _render(node.text, out)
        return
    shown = bare
    if sep and (p in _PROJECT_PREFIXES or p in _CATEGORY_NS):
        shown = rest
    shown = shown.split("#", 1)[0] if not shown.startswith("#") else shown[1:]
    out.append(shown)


def _render(wikicode, out: list[str]) -> None:
    """Append the visible prose of parsed wikitext to ``out``, with line markers for headings and lists."""
    for node in wikicode.nodes:
        kind = type(node)
        if kind is Text:
            out.append(node.value)
        elif kind is Wikilink:
            _link_text(node, out)
        elif kind is Template:
            shown = _inline_template(node)
            if shown:
                out.append(shown)
        elif kind is Tag:
            markup = node.wiki_markup
            if markup in ("*", "#", ";", ":"):
                out.append(_LIST)
                continue
            tag = str(node.tag).strip().lower()
            if tag in _DROP_TAGS:
                continue
            if tag == "br":
                out.append(" ")
            elif tag == "hr":
                out.append("\n")
            elif node.contents is not None and not node.self_closing:
                _render(node.contents, out)
        elif kind is Heading:
            inner: list[str] = []
            _render(node.title, inner)
            out.append("\n" + _HEADING + "".join(inner).replace("\n", " ") + "\n")
        elif kind is HTMLEntity:
            out.append(node.normalize())
        elif kind is ExternalLink:
            if node.title is not None:
                _render(node.title, out)
        elif kind is Comment:
            continue
        # Argument ({{{1}}}) and anything else: not prose


class _Sections:
    """Collects paragraphs into sections while lines are scanned; counts what is left out."""

    def __init__(self):
        self.clean = CleanArticle(sections=[("", [])])
        self.para: list[str] = []
        self.skipping = False

    def end_paragraph(self) -> None:
        if not self.para:
            return
        text = tidy(" ".join(self.para))
        self.para = []
        if not text:
            return
        n = len(text.split())
        if self.skipping:
            return
        # a line of a few words without a sentence end is a caption, a table cell or a label, not prose
        if n < 4 or (not _TERMINAL.search(text) and n < 12):
            self.clean.fragment_words += n
            return
        self.clean.sections[-1][1].append(text)

    def heading(self, title: str) -> None:
        self.end_paragraph()
        title = tidy(title)
        self.skipping = title.lower().strip(" :") in BOILERPLATE_SECTIONS
        if self.skipping:
            self.clean.boilerplate_sections += 1
        self.clean.sections.append((title, []))

    def list_line(self, text: str) -> None:
        self.end_paragraph()
        self.clean.list_words += len(text.split())

    def done(self) -> CleanArticle:
        self.end_paragraph()
        self.clean.sections = [(h, ps) for h, ps in self.clean.sections if ps]
        return self.clean


def clean_wikitext(text: str) -> CleanArticle:
    """Wikitext -> sections of prose paragraphs (see the module docstring for what is left out)."""
    text = _PRE_HIDDEN_LINK.sub("", _PRE_REF.sub("", _PRE_COMMENT.sub("", text)))
    out: list[str] = []
    _render(mwparserfromhell.parse(text), out)
    acc = _Sections()
    for line in "".join(out).split("\n"):
        if line.startswith(_HEADING):
            acc.heading(line[1:])
        elif _LIST in line[:3]:
            acc.list_line(line.replace(_LIST, ""))
        elif not line.strip():
            acc.end_paragraph()
        elif _TABLE_LINE.match(line):
            acc.list_line(line)  # a table the parser could not close: its rows are not prose either
        else:
            acc.para.append(line)
    return acc.done()


def _is_prose_line(line: str) -> bool:
    return bool(_TERMINAL.search(line)) and len(line.split()) >= 4


def clean_plain(text: str) -> CleanArticle:
    """Already-plain article text (BabyLM, HF, wikiextractor) -> sections of prose paragraphs.

    ``== Heading ==`` lines are headings; so is a short line without a sentence end that is followed
    by prose. Bulleted lines and other short lines without a sentence end are list items.
    """
    lines = [ln.strip() for ln in text.split("\n")]
    next_line = [""] * len(lines)  # the next non-empty line after each line
    following = ""
    for i in range(len(lines) - 1, -1, -1):
        next_line[i] = following
        following = lines[i] or following
    acc = _Sections()
    for i, line in enumerate(lines):
        if not line:
            acc.end_paragraph()
            continue
        m = _PLAIN_HEADING.match(line)
        if m and m.group(1).replace(" ", "") == m.group(3).replace(" ", ""):
            acc.heading(m.group(2))
            continue
        if _BULLET.match(line):
            acc.list_line(line)
            continue
        if _is_prose_line(line):
            acc.para.append(line)
            acc.end_paragraph()  # plain exports put one paragraph on a line
            continue
        if len(line.split()) <= 10 and _is_prose_line(next_line[i]):
            acc.heading(line.rstrip(":."))
        else:
            acc.list_line(line)
    return acc.done()


# --- passages ---------------------------------------------------------------------------------------


def pack_sentences(sentences: Sequence[str], max_words: int, min_words: int, counts: Counter) -> list[str]:
    """Consecutive sentences -> passages of at most ``max_words`` and at least ``min_words`` words.

    A run of sentences is cut into ``ceil(words / max_words)`` pieces of near-equal length (rather than
    greedily, which leaves a short tail). A sentence longer than ``max_words``, or holding what is left of
    markup the parser could not close (``{{``, ``[[``, ``|``, tags, URLs), ends the run and is left out.
    """
    passages: list[str] = []
    run: list[tuple[str, int]] = []
    for s in sentences:
        n = len(s.split())
        if n > max_words or _RESIDUE.search(s):
            counts["long_sentences_dropped" if n > max_words else "markup_sentences_dropped"] += 1
            passages.extend(_pack_run(run, max_words, min_words, counts))
            run = []
        else:
            run.append((s, n))
    passages.extend(_pack_run(run, max_words, min_words, counts))
    return passages


def _pack_run(run: list[tuple[str, int]], max_words: int, min_words: int, counts: Counter) -> list[str]:
    total = sum(n for _, n in run)
    if total == 0:
        return []
    if total < min_words:
        counts["short_text_dropped"] += 1
        return []
    k = math.ceil(total / max_words)
    target = total / k
    chunks: list[list[tuple[str, int]]] = [[]]
    size = 0
    for s, n in run:
        if chunks[-1] and (size + n > max_words or (size + n / 2 > target and len(chunks) < k)):
            chunks.append([])
            size = 0
        chunks[-1].append((s, n))
        size += n
    sizes = [sum(n for _, n in c) for c in chunks]
    if len(chunks) > 1 and sizes[-1] < min_words and sizes[-2] + sizes[-1] <= max_words:
        chunks[-2].extend(chunks.pop())
        sizes[-2] += sizes.pop()
    out = []
    for chunk, size in zip(chunks, sizes):
        if size < min_words:
            counts["short_text_dropped"] += 1
            continue
        out.append(" ".join(s for s, _ in chunk))
    return out


def article_passages(article: Article, config: PassageConfig, counts: Counter,
                     params_path: str | None = None) -> list[dict]:
    """Passage rows of one article; why it gave none is added to ``counts`` as ``skip:<reason>``."""
    clean = clean_plain(article.text) if article.markup == PLAIN else clean_wikitext(article.text)
    counts["list_words_dropped"] += clean.list_words
    counts["fragment_words_dropped"] += clean.fragment_words
    counts["boilerplate_sections_dropped"] += clean.boilerplate_sections
    prose = clean.prose_words
    if prose < config.min_article_words:
        counts["skip:list" if clean.list_words > max(prose, 1) else "skip:stub"] += 1
        return []
    rows: list[dict] = []
    seen: set[str] = set()
    for section, paragraphs in clean.sections:
        sentences = [s for p in paragraphs for s in split_sentences(p, params_path)]
        for text in pack_sentences(sentences, config.max_words, config.min_words, counts):
            pid = Passage.make_id(article.article_id, section, text)
            if pid in seen:
                counts["duplicate_passages_dropped"] += 1
                continue
            seen.add(pid)
            rows.append({"passage_id": pid, "article_id": article.article_id, "title": article.title,
                         "section": section, "text": text, "n_words": len(text.split())})
    if not rows:
        counts["skip:no_passage"] += 1
    return rows


def process_batch(batch: list[Article], config: PassageConfig,
                  params_path: str | None = None) -> tuple[list[dict], Counter, list[dict]]:
    """Clean a batch of articles: (passage rows, counts, articles whose wikitext could not be handled)."""
    rows: list[dict] = []
    counts: Counter = Counter()
    failures: list[dict] = []
    for article in batch:
        try:
            got = article_passages(article, config, counts, params_path)
        except Exception as exc:  # one broken page must not end a 15-minute run; it is named in the summary
            counts["skip:parse_error"] += 1
            failures.append({"article_id": article.article_id, "title": article.title,
                             "error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        if got:
            counts["articles_kept"] += 1
            rows.extend(got)
    return rows, counts, failures


_WORKER: dict = {}


def _init_worker(config: PassageConfig, params_path: str | None) -> None:
    _WORKER["config"] = config
    _WORKER["params"] = params_path
    sentence_splitter(params_path)


def _worker_batch(batch: list[Article]):
    return process_batch(batch, _WORKER["config"], _WORKER["params"])


# --- the run ----------------------------------------------------------------------------------------

_BATCH_ARTICLES = 64
_BATCH_CHARS = 400_000
_ROW_GROUP = 20_000
_MAX_NAMED_FAILURES = 100


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _batches(articles: Iterator[Article], counts: Counter, limit: int | None) -> Iterator[list[Article]]:
    """Group the articles to clean into batches; reader-level skips are only counted."""
    batch: list[Article] = []
    chars = 0
    for art in articles:
        counts["pages_read"] += 1
        if art.skip:
            counts[f"skip:{art.skip}"] += 1
            continue
        counts["articles_read"] += 1
        batch.append(art)
        chars += len(art.text)
        if len(batch) >= _BATCH_ARTICLES or chars >= _BATCH_CHARS:
            yield batch
            batch, chars = [], 0
        if limit is not None and counts["articles_read"] >= limit:
            break
    if batch:
        yield batch


class _PassageWriter:
    """Streams passage rows into one Parquet (row groups) or JSON-lines file at a temporary path."""

    def __init__(self, tmp: Path, jsonl: bool):
        import pyarrow as pa

        self.tmp, self.jsonl = tmp, jsonl
        self.schema = pa.schema([(k, pa.int64() if v.is_integer() else pa.string())
                                 for k, v in PASSAGE_SCHEMA.items()])
        self.pending: list[dict] = []
        self.writer = None
        self.fh = open(tmp, "w", encoding="utf-8") if jsonl else None

    def add(self, rows: list[dict]) -> None:
        if self.jsonl:
            for r in rows:
                self.fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            return
        self.pending.extend(rows)
        if len(self.pending) >= _ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            self.writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        self.writer.write_table(pa.Table.from_pylist(self.pending, schema=self.schema))
        self.pending = []

    def close(self) -> None:
        if self.jsonl:
            self.fh.close()
            return
        if self.pending or self.writer is None:
            self._flush()
        self.writer.close()


def prepare_wiki(inputs: str | Path | Sequence[str | Path], out: str | Path, *, fmt: str | None = None,
                 max_words: int = DEFAULT_MAX_WORDS, min_words: int = DEFAULT_MIN_WORDS,
                 min_article_words: int = DEFAULT_MIN_ARTICLE_WORDS, limit_articles: int | None = None,
                 workers: int | None = None, progress: bool = True,
                 punkt_params: str | Path | None = None) -> dict:
    """Turn Simple English Wikipedia inputs into a passage file (PASSAGE_SCHEMA rows); return the summary.

    ``inputs``: dumps (.xml / .xml.bz2 / multistream), BabyLM ``simple_wiki`` files, ``wikimedia/wikipedia``
    Parquet / JSON lines, or wikiextractor output, detected from their content unless ``fmt`` is given.
    ``out`` ends in ``.parquet`` or ``.jsonl`` and is written atomically. ``limit_articles`` stops after
    that many articles (pages of namespace 0 that are not redirects). ``workers`` defaults to every core;
    1 cleans in this process. Workers are started with ``forkserver``: a script that calls this with
    several workers needs the usual ``if __name__ == "__main__":`` guard.
    """
    from classit_data.core.io import atomic_path

    paths = [Path(p) for p in ([inputs] if isinstance(inputs, (str, Path)) else inputs)]
    if not paths:
        raise InputError("no input files given")
    if min_words < 1 or max_words < min_words:
        raise InputError(f"need 1 <= min_words <= max_words (got min_words={min_words}, max_words={max_words})")
    if limit_articles is not None and limit_articles < 1:
        raise InputError(f"limit_articles must be at least 1 (got {limit_articles})")
    out = Path(out)
    if out.suffix not in (".parquet", ".jsonl"):
        raise InputError("the output must end in .parquet or .jsonl", out)
    forced = normalize_format(fmt)
    formats = {str(p): forced or detect_format(p) for p in paths}
    params_path = str(punkt_params) if punkt_params else None
    sentence_splitter(params_path)  # a bad parameter file fails here, before any work
    config = PassageConfig(max_words=max_words, min_words=min_words, min_article_words=min_article_words)
    n_workers = max(1, workers if workers is not None else available_cores())

    counts: Counter = Counter()
    failures: list[dict] = []
    started = time.perf_counter()
    sizes = [p.stat().st_size for p in paths]
    finished_bytes = [0]

    def articles() -> Iterator[Article]:
        for p, size in zip(paths, sizes):
            yield from iter_articles(p, formats[str(p)])
            finished_bytes[0] += size

    bar = _progress_bar() if progress else None
    with atomic_path(out) as tmp:
        writer = _PassageWriter(tmp, jsonl=out.suffix == ".jsonl")
        task = bar.add_task("prepare-wiki", total=sum(sizes), articles=0) if bar else None
        if bar:
            bar.start()
        read_before = BYTES_READ[0]
        try:
            for rows, got, failed in _run_batches(_batches(articles(), counts, limit_articles), config,
                                                  params_path, n_workers):
                writer.add(rows)
                counts.update(got)
                counts["passages"] += len(rows)
                counts["words"] += sum(r["n_words"] for r in rows)
                failures.extend(failed[: max(0, _MAX_NAMED_FAILURES - len(failures))])
                if bar:  # bytes of the inputs read so far (compressed size): an ETA for the whole dump
                    done = max(BYTES_READ[0] - read_before, finished_bytes[0])
                    bar.update(task, completed=done, articles=counts["articles_read"])
        finally:
            if bar:
                bar.stop()
            writer.close()

    elapsed = time.perf_counter() - started
    skipped = {k.split(":", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("skip:")}
    return {
        "inputs": formats,
        "out": str(out),
        "pages_read": counts["pages_read"],
        "articles_read": counts["articles_read"],
        "articles_kept": counts["articles_kept"],
        "skipped_by_reason": skipped,
        "parse_failures": failures,
        "passages": counts["passages"],
        "words": counts["words"],
        "dropped": {k: counts[k] for k in ("list_words_dropped", "fragment_words_dropped",
                                           "boilerplate_sections_dropped", "long_sentences_dropped", "markup_sentences_dropped",
                                           "short_text_dropped", "duplicate_passages_dropped")},
        "config": asdict(config) | {"workers": n_workers, "limit_articles": limit_articles,
                                    "punkt_params": str(punkt_params or PUNKT_PARAMS.name)},
        "seconds": round(elapsed, 3),
        "articles_per_s": round(counts["articles_read"] / elapsed, 1) if elapsed > 0 else None,
    }


def _progress_bar():
    from rich.progress import (
        BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
    )

    from classit_data.core.console import console

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                    TextColumn("{task.fields[articles]:,} articles"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


def _run_batches(batches: Iterator[list[Article]], config: PassageConfig, params_path: str | None,
                 n_workers: int) -> Iterator[tuple[list[dict], Counter, list[dict]]]:
    """Results of ``process_batch`` in input order, from a worker pool with a bounded number in flight."""
    head = list(itertools.islice(batches, 2))
    if n_workers == 1 or len(head) < 2:  # one batch in all: starting workers would cost more than it saves
        for batch in itertools.chain(head, batches):
            yield process_batch(batch, config, params_path)
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ctx.Pool(n_workers, initializer=_init_worker, initargs=(config, params_path)) as pool:
        in_flight: deque = deque()
        for batch in itertools.chain(head, batches):
            in_flight.append(pool.apply_async(_worker_batch, (batch,)))
            while len(in_flight) > 2 * n_workers + 1:
                yield in_flight.popleft().get()
        while in_flight:
            yield in_flight.popleft().get()
