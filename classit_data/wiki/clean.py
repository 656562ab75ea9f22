"""Cleaning: an article's wikitext or plain text -> sections of prose paragraphs, and what was left out.

Wikitext goes through mwparserfromhell: templates, references, tables, galleries, files and images with
their captions, categories, interlanguage links, magic words and comments are dropped; links become their
text; headings split sections. List items, boilerplate sections (References, Other websites...) and
caption-like fragments are left out and counted. Plain text (BabyLM, HF, wikiextractor) keeps its
paragraphs; its headings and list items are recognised from the lines' shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import mwparserfromhell
from mwparserfromhell.nodes import Comment, ExternalLink, Heading, HTMLEntity, Tag, Template, Text, Wikilink

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
