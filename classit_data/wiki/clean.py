"""Cleaning: an article's wikitext or plain text -> sections of prose paragraphs, and what was left out.

Wikitext is rendered to the text a reader sees (:mod:`classit_data.wiki.render`: templates, references,
tables, galleries, files and images with their captions, categories, interlanguage links, magic words and
comments are dropped; links become their text); headings split sections. List items, boilerplate sections
(References, Other websites...) and caption-like fragments are left out and counted. Plain text (BabyLM, HF,
wikiextractor) keeps its paragraphs; its headings and list items are recognised from the lines' shape.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from classit_data.wiki.render import HEADING, LIST, render_wikitext
from classit_data.wiki.templates import LOST

#: sections whose content is references, links or galleries, never prose worth asking about
BOILERPLATE_SECTIONS = frozenset(
    {
        "references",
        "notes",
        "footnotes",
        "citations",
        "sources",
        "bibliography",
        "works cited",
        "notes and references",
        "references and notes",
        "external links",
        "other websites",
        "related pages",
        "see also",
        "other pages",
        "further reading",
        "gallery",
        "images",
        "discography",
        "filmography",
    }
)


#: cheap pre-pass before parsing: references cannot nest, comments never hold prose, category and
#: interlanguage links are invisible
_PRE_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_PRE_REF = re.compile(r"<ref(?:\s[^>]*?)?/>|<ref(?:\s[^>]*)?>.*?</ref\s*>", re.S | re.I)
_PRE_HIDDEN_LINK = re.compile(r"\[\[\s*(?:(?i:category)|[a-z]{2,3}(?:-[a-z]+)*)\s*:[^\[\]\n]*\]\]")
_MAGIC = re.compile(r"__[A-Z]+__")
_QUOTES = re.compile(r"'{2,}")
_EMPTY_PARENS = re.compile(r"\(\s*(?:[,;:.\-\u2013]\s*)*\)")
_OPEN_PUNCT = re.compile(r"\(\s*[,;:]\s*")
_CLOSE_PUNCT = re.compile(r"\s*[,;:]\s*\)")
_SPACE_BEFORE = re.compile(r"\s+([,.;:!?)\]])")
#: what ``_SPACE_BEFORE`` needs to match at all, once spaces are the only whitespace left (after
#: :func:`_single_spaces`): a space before one of its marks
_SPACE_BEFORE_SIGN = re.compile(r" [,.;:!?)\]]")
_SPACE_AFTER_OPEN = re.compile(r"([(\[])\s+")
_DOUBLE_PUNCT = re.compile(r"([,;:])(?:\s*[,;:])+")
_PLAIN_HEADING = re.compile(r"^\s*(=+(?: ?=)*)\s*(.+?)\s*(=+(?: ?=)*)\s*$")
_BULLET = re.compile(r"^\s*(?:[*#•·\-–—]|\d+[.)])\s+")
_TABLE_LINE = re.compile(r"^\s*(?:\{\||\|\}|\|-|\||!)")
#: how a sentence ends (``_terminal``), and the closing quotes and brackets that may follow its end
_TERMINAL_ENDS = (".", "!", "?")
_TERMINAL_CLOSERS = "\"'’”)]"
#: signs that words were removed: an empty parenthesis, one that opens or closes on a comma, a space before one
_SIGN_EMPTY = re.compile(r"\((?:\s*[,;:.\-\u2013])*\s*\)")
_SIGN_OPEN = re.compile(r"\(\s*(?=[,;:])")
_SIGN_CLOSE = re.compile(r"(?<=[,;:])\s*\)")
_SIGN_SPACE_COMMA = re.compile(r"(?<=\s)(?=[,;](?:\s|$))")
#: what each of the parenthesis patterns above and below needs to match at all
_PAREN_SIGN = re.compile(r"\(\s*[,;:.\-\u2013)]|[,;:]\s*\)")
#: what a section title never holds: placeholders of removed formulas and code, markup, a sentence end
_NOT_IN_HEADING = re.compile(r"\b(?:formula|codice)_\d+|[\[\]{}<>|=]|[.!?]\s")
#: words a title does not end on, but the lead-in of a list does ("include", "are", "that")
_OPEN_ENDINGS = frozenset(
    "a an the of that and or but to in into on at for with by as from than are is was were be been has have "
    "had include includes included including such like following follows which who whose where when".split()
)
_PAREN = re.compile(r"\(([^()]*)\)")
_SEMICOLON = re.compile(r"\s*;\s*")
_WORDLIKE = re.compile(r"\w")
_LOST_START = re.compile(r"^(?:\s*" + LOST + r")+\s*")
_LOST_END = re.compile(r"([.!?:\"'’”)\]])(?:\s*" + LOST + r")+\s*$")
_LOST_AFTER_SENTENCE = re.compile(r"([.!?][\"'’”)\]]*)(?:\s*" + LOST + r")+(\s|$)?")
#: a quotation removed after its lead-in, the next sentence right after it: the lead-in ends a paragraph
_LOST_AFTER_LEAD_IN = re.compile(r":(?:\s*" + LOST + r")+\s+(?=[\"“‘'(]?[A-Z0-9])")
#: where :func:`repair_lost` ends a paragraph
PARAGRAPH_BREAK = "\x04"
_LOST_GLUE = re.compile(r"(?<![\s.!?])\s+(?=" + LOST + ")")
_LOST_RUN = re.compile(LOST + "{2,}")
_NO_MARKERS = {ord(c): None for c in (LOST, PARAGRAPH_BREAK, HEADING, LIST)}


@dataclass
class CleanArticle:
    """An article as prose: ``sections`` is a list of (heading, paragraphs), ``prose_words`` the words of those
    paragraphs (counted as each is added); the rest is what was left out."""

    sections: list[tuple[str, list[str]]]
    prose_words: int = 0
    list_words: int = 0
    fragment_words: int = 0
    boilerplate_sections: int = 0


def tidy(text: str, plain: bool = False) -> str:
    """Entities, whitespace, and what removed templates leave behind: ``( ; born )``, ``word ,``.

    Where words were removed (a :data:`LOST` marker, an empty parenthesis, one opening on a comma; in
    ``plain`` text, whose templates were removed before we got it, also a space before a comma) the
    parenthesis loses the parts that held them, and any other loss is left glued to the word before it, for
    the sentence step to drop the sentence (see :func:`repair_lost`).
    """
    if "&" in text:
        text = html.unescape(text)
    if "__" in text:
        text = _MAGIC.sub("", text)
    if "''" in text:
        text = _QUOTES.sub("", text)
    text = _single_spaces(text)
    parens = "(" in text or ")" in text
    signs = parens and _PAREN_SIGN.search(text) is not None  # most parentheses hold words, nothing to mend
    if signs:
        text = _SIGN_EMPTY.sub("(" + LOST + ")", text)
        text = _SIGN_OPEN.sub("(" + LOST, text)
        text = _SIGN_CLOSE.sub(LOST + ")", text)
    if plain:
        text = _SIGN_SPACE_COMMA.sub(LOST, text)
    lost = LOST in text
    if lost:
        text = repair_lost(text)
    if signs or (parens and lost):
        text = _OPEN_PUNCT.sub("(", text)
        text = _CLOSE_PUNCT.sub(")", text)
        text = _EMPTY_PARENS.sub("", text)
    if "( " in text or "[ " in text:  # spaces are the only whitespace left: see _single_spaces
        text = _SPACE_AFTER_OPEN.sub(r"\1", text)
    if _SPACE_BEFORE_SIGN.search(text):
        text = _SPACE_BEFORE.sub(r"\1", text)
    text = _DOUBLE_PUNCT.sub(r"\1", text)
    return _trimmed(text)


def _single_spaces(text: str) -> str:
    """Each run of whitespace as one space, a space kept at either end: ``re.sub(r"\\s+", " ", text)`` by
    ``str.split`` (the same whitespace), without a match for every space between two words.

    Most paragraphs have nothing to change: the space is the only printable whitespace character, so a
    printable text without two spaces in a row comes back as it is, without building its list of words. Every
    step of :func:`tidy` after this one inserts no whitespace but spaces.
    """
    if "  " not in text and text.isprintable():
        return text
    inner = " ".join(text.split())
    if not inner:
        return " " if text else ""
    return (" " if text[0].isspace() else "") + inner + (" " if text[-1].isspace() else "")


def _trimmed(text: str) -> str:
    """``" ".join(text.split())`` for a text whose only whitespace is spaces (see :func:`_single_spaces`): the
    text itself when no space is doubled or at either end."""
    if "  " in text or text[:1] == " " or text[-1:] == " ":
        return " ".join(text.split())
    return text


def _own_markers_removed(text: str) -> str:
    """The input without the control characters this module uses as markers (they never occur in prose)."""
    if LOST in text or PARAGRAPH_BREAK in text or HEADING in text or LIST in text:
        return text.translate(_NO_MARKERS)
    return text


def _repair_parenthesis(m: re.Match) -> str:
    inner = m.group(1)
    if LOST not in inner:
        return m.group(0)
    kept = [part for part in _SEMICOLON.split(inner) if LOST not in part and _WORDLIKE.search(part)]
    return "(" + "; ".join(kept) + ")" if kept else ""


def repair_lost(text: str) -> str:
    """Remove the losses that harm no sentence; glue the others to the word before them.

    A parenthesis keeps its ``;``-separated parts that lost nothing ("(IPA; 14 March 1879 – 1955)" keeps the
    dates, "(IPA, occasionally IPA)" goes). A loss at the start or end of a paragraph or between sentences
    (an infobox, a hatnote, a block quote after its lead-in) harms no sentence; a quotation removed between
    its lead-in and the next sentence ends the paragraph (:data:`PARAGRAPH_BREAK`).
    """
    for _ in range(2):  # innermost parentheses first, then the ones around them
        if "(" in text:
            text = _PAREN.sub(_repair_parenthesis, text)
    text = _LOST_START.sub("", text)
    text = _LOST_END.sub(r"\1", text)
    text = _LOST_AFTER_SENTENCE.sub(_after_sentence, text)
    text = _LOST_AFTER_LEAD_IN.sub(":" + PARAGRAPH_BREAK, text)
    return _LOST_RUN.sub(LOST, _LOST_GLUE.sub("", text))


def _after_sentence(m: re.Match) -> str:
    """A loss between sentences harms none, unless the next one starts right after it ("1990.{{x}}, the")."""
    return m.group(1) + (m.group(2) if m.group(2) is not None else " " + LOST)


def _terminal(text: str) -> bool:
    """The text ends like a sentence: ".", "!" or "?", then closing quotes or brackets. Read from the end of the
    text (a pattern searched for would be tried at every sentence end inside it)."""
    return text.rstrip(_TERMINAL_CLOSERS)[-1:] in _TERMINAL_ENDS


class _Sections:
    """Collects paragraphs into sections while lines are scanned; counts what is left out."""

    def __init__(self, plain: bool = False):
        self.plain = plain
        self.clean = CleanArticle(sections=[("", [])])
        self.para: list[str] = []
        self.skipping = False

    def end_paragraph(self) -> None:
        if not self.para or self.skipping:  # a boilerplate section's paragraphs are not even tidied
            self.para = []
            return
        text = tidy(" ".join(self.para), self.plain)
        self.para = []
        for part in text.split(PARAGRAPH_BREAK) if PARAGRAPH_BREAK in text else (text,):
            self._add_paragraph(part.strip())

    def _add_paragraph(self, text: str) -> None:
        if not text:
            return
        n = len(text.split())
        # a line of a few words without a sentence end is a caption, a table cell or a label, not prose
        if n < 4 or (not _terminal(text) and n < 12):
            self.clean.fragment_words += n
            return
        self.clean.sections[-1][1].append(text)
        self.clean.prose_words += n

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
    text = _own_markers_removed(text)
    text = _PRE_HIDDEN_LINK.sub("", _PRE_REF.sub("", _PRE_COMMENT.sub("", text)))
    out: list[str] = []
    render_wikitext(text, out)
    acc = _Sections()
    for line in "".join(out).split("\n"):
        if line.startswith(HEADING):
            acc.heading(line[1:])
        elif LIST in line[:3]:
            acc.list_line(line.replace(LIST, ""))
        elif not line.strip():
            acc.end_paragraph()
        elif _TABLE_LINE.match(line):
            acc.list_line(line)  # a table the parser could not close: its rows are not prose either
        else:
            acc.para.append(line)
    return acc.done()


def _is_prose_line(line: str) -> bool:
    return _terminal(line) and len(line.split()) >= 4


def looks_like_heading(line: str) -> bool:
    """A line of plain text that can be a section title: short, capitalised, not the lead-in of a list.

    wikiextractor output without headings keeps lines that are not titles at all: lead-ins whose list was
    removed ("Eric Foner argues that", "According to Clifford Geertz,"), what is left of a formula
    ("formula_7,") or of markup ("]]"), the end of a broken sentence ("instead of").
    """
    words = line.split()
    if not words or len(words) > 10:
        return False
    if line[-1] in ",:;([" or not (line[0].isupper() or line[0].isdigit()):
        return False
    if _NOT_IN_HEADING.search(line):
        return False
    return words[-1].lower().rstrip(".") not in _OPEN_ENDINGS


def _join_continued_lines(lines: list[str]) -> list[str]:
    """A line that starts in lowercase right after a line of text continues it (a sentence cut in two)."""
    out: list[str] = []
    for line in lines:
        if line and line[0].islower() and out and out[-1] and not _BULLET.match(out[-1]):
            out[-1] = out[-1] + " " + line
        else:
            out.append(line)
    return out


def clean_plain(text: str) -> CleanArticle:
    """Already-plain article text (BabyLM, HF, wikiextractor) -> sections of prose paragraphs.

    ``== Heading ==`` lines are headings; so is a short line that looks like one
    (:func:`looks_like_heading`) followed by prose. Bulleted lines and other short lines without a
    sentence end are list items.
    """
    lines = _join_continued_lines([ln.strip() for ln in _own_markers_removed(text).split("\n")])
    next_line = [""] * len(lines)  # the next non-empty line after each line
    following = ""
    for i in range(len(lines) - 1, -1, -1):
        next_line[i] = following
        following = lines[i] or following
    acc = _Sections(plain=True)
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
        if looks_like_heading(line) and _is_prose_line(next_line[i]):
            acc.heading(line.rstrip("."))
        else:
            acc.list_line(line)
    return acc.done()
