"""Wikitext -> the text a reader of the page sees, with line markers where a heading or a list item starts.

Templates are rendered by :mod:`classit_data.wiki.templates` (words, nothing, or a :data:`LOST` marker);
references, tables, galleries, files and images with their captions, categories, interlanguage links, magic
words and comments show nothing; links show their text. :func:`render_wikitext` reads mwparserfromhell's
tokens and builds a parse tree only for what needs one: it writes what :func:`_render` writes for the whole
tree, at a fraction of the cost.
"""

from __future__ import annotations

import re

import mwparserfromhell
from mwparserfromhell.nodes import Comment, ExternalLink, Heading, HTMLEntity, Tag, Template, Text, Wikilink
from mwparserfromhell.parser import tokens as tok
from mwparserfromhell.parser.builder import Builder

from classit_data.wiki.templates import LOST, render_template, shown_by_name

try:
    from mwparserfromhell.parser._tokenizer import CTokenizer as _Tokenizer
except ImportError:  # a build without the C extension
    from mwparserfromhell.parser.tokenizer import Tokenizer as _Tokenizer

_FILE_NS = frozenset({"file", "image", "media"})
_CATEGORY_NS = frozenset({"category"})
#: prefixes of visible interwiki links (they show their text); language codes without a colon are hidden
_PROJECT_PREFIXES = frozenset(
    {
        "wikt",
        "wiktionary",
        "w",
        "wikipedia",
        "wp",
        "commons",
        "c",
        "q",
        "wikiquote",
        "s",
        "wikisource",
        "b",
        "wikibooks",
        "n",
        "wikinews",
        "v",
        "wikiversity",
        "voy",
        "wikivoyage",
        "d",
        "wikidata",
        "m",
        "meta",
        "species",
        "wikispecies",
        "mw",
        "simple",
        "en",
        "help",
        "template",
        "user",
        "talk",
        "portal",
        "special",
    }
)
_LANG_CODE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")
_SHOWN_WITHOUT_PREFIX = _PROJECT_PREFIXES | _CATEGORY_NS

#: tags whose content is not prose: references, tables, galleries, maths, code, media, layout data
_DROP_TAGS = frozenset(
    {
        "ref",
        "references",
        "table",
        "gallery",
        "math",
        "chem",
        "ce",
        "code",
        "pre",
        "syntaxhighlight",
        "source",
        "score",
        "timeline",
        "imagemap",
        "graph",
        "mapframe",
        "maplink",
        "templatedata",
        "hiero",
        "inputbox",
        "categorytree",
        "includeonly",
        "noinclude",
        "templatestyles",
        "poem",
        "caption",
        "tr",
        "td",
        "th",
        "img",
        "figure",
        "style",
        "script",
    }
)
#: tags whose content is words inside a sentence (a formula, code, a chemical formula): where they were, words
#: are lost
_WORD_TAGS = frozenset({"math", "chem", "ce", "code", "hiero", "score", "poem", "syntaxhighlight", "source"})
HEADING = "\x01"  # line marker: a section heading follows
LIST = "\x02"  # line marker: a list item (or indented line) follows


def _plain_of(wikitext: str) -> str:
    out: list[str] = []
    _render(mwparserfromhell.parse(wikitext), out)
    return "".join(out).replace(LIST, "").replace(HEADING, "")


def _hidden_link(title: str) -> bool:
    """A file or image (caption included), a category membership or an interlanguage link: not in the text."""
    if ":" not in title:
        return False
    colon = title.startswith(":")
    prefix, sep, _ = title.lstrip(":").strip().partition(":")
    if not sep:
        return False
    p = prefix.strip().lower()
    return (
        p in _FILE_NS
        or (p in _CATEGORY_NS and not colon)
        or (not colon and p not in _PROJECT_PREFIXES and bool(_LANG_CODE.match(p)))
    )


def _link_text(node, out: list[str]) -> None:
    title = str(node.title).strip()
    if _hidden_link(title):
        return
    if node.text is not None:
        _render(node.text, out)
    else:
        out.append(_link_title_shown(title))


def _link_title_shown(title: str) -> str:
    """What a link without its own text shows: its title without a project prefix or a section."""
    shown = title.lstrip(":").strip()
    prefix, sep, rest = shown.partition(":")
    if sep and prefix.strip().lower() in _SHOWN_WITHOUT_PREFIX:
        shown = rest
    return shown.split("#", 1)[0] if not shown.startswith("#") else shown[1:]


def _render(wikicode, out: list[str]) -> None:
    """Append the visible prose of parsed wikitext to ``out``, with line markers for headings and lists."""
    for node in wikicode.nodes:
        kind = type(node)
        if kind is Text:
            out.append(node.value)
        elif kind is Wikilink:
            _link_text(node, out)
        elif kind is Template:
            shown = render_template(node, _plain_of)
            if shown:
                out.append(shown)
        elif kind is Tag:
            markup = node.wiki_markup
            if markup in ("*", "#", ";", ":"):
                out.append(LIST)
                continue
            tag = str(node.tag).strip().lower()
            if tag in _DROP_TAGS:
                if tag in _WORD_TAGS:
                    out.append(LOST)
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
            out.append(_heading_line("".join(inner)))
        elif kind is HTMLEntity:
            out.append(node.normalize())
        elif kind is ExternalLink:
            if node.title is not None:
                _render(node.title, out)
        elif kind is Comment:
            continue
        # Argument ({{{1}}}) and anything else: not prose


def _heading_line(title: str) -> str:
    return "\n" + HEADING + title.replace("\n", " ").replace(LOST, "") + "\n"


_LIST_MARKUP = ("*", "#", ";", ":")
_TEMPLATE_HEAD = (tok.TemplateParamSeparator, tok.TemplateClose)
_LINK_HEAD = (tok.WikilinkSeparator, tok.WikilinkClose)
_TAG_HEAD = (tok.TagAttrStart, tok.TagCloseOpen, tok.TagCloseSelfclose)
#: each construct's opening token -> the tokens that close it
_CLOSERS = {
    tok.TemplateOpen: (tok.TemplateClose,),
    tok.WikilinkOpen: (tok.WikilinkClose,),
    tok.ExternalLinkOpen: (tok.ExternalLinkClose,),
    tok.TagOpenOpen: (tok.TagCloseSelfclose, tok.TagCloseClose),
    tok.ArgumentOpen: (tok.ArgumentClose,),
    tok.CommentStart: (tok.CommentEnd,),
    tok.HeadingStart: (tok.HeadingEnd,),
    tok.HTMLEntityStart: (tok.HTMLEntityEnd,),
}

Step = tuple[int, "str | None", "tuple[int, int] | None"]


def _span_end(tokens: list, start: int) -> int:
    """Index of the token closing the construct opened at ``start`` (the tokenizer nests them properly)."""
    opener = type(tokens[start])
    closers = _CLOSERS.get(opener, ())
    depth = 0
    for i in range(start, len(tokens)):
        kind = type(tokens[i])
        if kind is opener:
            depth += 1
        elif kind in closers:
            depth -= 1
            if depth == 0:
                return i
    return start if not closers else len(tokens) - 1


def _first_own(tokens: list, start: int, end: int, kinds: tuple) -> int | None:
    """Index of the first token of ``kinds`` that belongs to the construct at ``start`` (not to one inside it)."""
    opener = type(tokens[start])
    closers = _CLOSERS[opener]
    depth = 0
    for i in range(start, end + 1):
        kind = type(tokens[i])
        if depth == 1 and kind in kinds:
            return i
        if kind is opener:
            depth += 1
        elif kind in closers:
            depth -= 1
    return None


def _head_text(tokens: list, start: int, stops: tuple) -> str | None:
    """The plain text after the opener at ``start`` up to a stop token (a name, a title); None if it has markup."""
    parts = []
    for i in range(start + 1, len(tokens)):
        kind = type(tokens[i])
        if kind is tok.Text:
            parts.append(tokens[i]["text"])
        elif kind in stops:
            return "".join(parts)
        else:
            return None
    return None


def _template_step(tokens: list, i: int) -> Step:
    end = _span_end(tokens, i)
    name = _head_text(tokens, i, _TEMPLATE_HEAD)
    return end + 1, shown_by_name(name) if name is not None else None, None


def _tag_step(tokens: list, i: int) -> Step:
    if tokens[i].get("wiki_markup") in _LIST_MARKUP:
        return _span_end(tokens, i) + 1, LIST, None
    name = _head_text(tokens, i, _TAG_HEAD)
    end = _span_end(tokens, i)
    if name is None:
        return end + 1, None, None
    tag = name.strip().lower()
    if tag in _DROP_TAGS:
        return end + 1, LOST if tag in _WORD_TAGS else "", None
    if tag in ("br", "hr"):
        return end + 1, " " if tag == "br" else "\n", None
    head = _first_own(tokens, i, end, (tok.TagCloseOpen, tok.TagCloseSelfclose))
    if head is None or type(tokens[head]) is tok.TagCloseSelfclose:
        return end + 1, "", None
    tail = _first_own(tokens, i, end, (tok.TagOpenClose,))
    return head + 1, "", (tail if tail is not None else end, end)


def _link_step(tokens: list, i: int) -> Step:
    end = _span_end(tokens, i)
    title = _head_text(tokens, i, _LINK_HEAD)
    if title is None:  # markup in the title: the builder's link is rendered as it is
        return end + 1, None, None
    title = title.strip()
    if _hidden_link(title):
        return end + 1, "", None
    after = i + 1
    while type(tokens[after]) is tok.Text:
        after += 1
    if type(tokens[after]) is tok.WikilinkClose:  # [[title]]
        return end + 1, _link_title_shown(title), None
    return after + 1, "", (end, end)  # [[title|text]]: its text


def _simple_link(tokens: list, i: int) -> tuple[int, str] | None:
    """(next index, what it shows) for ``[[title]]`` and ``[[title|text]]`` with plain title and text; else None."""
    if i + 2 >= len(tokens) or type(tokens[i + 1]) is not tok.Text:
        return None
    title = tokens[i + 1]["text"].strip()
    after = type(tokens[i + 2])
    if after is tok.WikilinkClose:
        return i + 3, "" if _hidden_link(title) else _link_title_shown(title)
    if (
        after is tok.WikilinkSeparator
        and i + 4 < len(tokens)
        and type(tokens[i + 3]) is tok.Text
        and type(tokens[i + 4]) is tok.WikilinkClose
    ):
        return i + 5, "" if _hidden_link(title) else tokens[i + 3]["text"]
    return None


def _prose_step(tokens: list, i: int) -> Step:
    """(next index, text to write or None to render ``tokens[i:next]`` with the tree builder, closing tokens to
    leave out later) for the construct opened at ``i``.

    A construct that shows nothing (a template decided by its name, a table, a reference or another dropped
    tag, a file, a category, an interlanguage link, an argument, a comment) writes what :func:`_render` would
    write for it, as does a heading of plain text; one that shows only what it holds (bold and italics, a link's
    text, an external link's title) is unwrapped.
    """
    kind = type(tokens[i])
    if kind is tok.TemplateOpen:
        return _template_step(tokens, i)
    if kind is tok.TagOpenOpen:
        return _tag_step(tokens, i)
    if kind is tok.WikilinkOpen:
        return _link_step(tokens, i)
    if kind is tok.ExternalLinkOpen:
        end = _span_end(tokens, i)
        sep = _first_own(tokens, i, end, (tok.ExternalLinkSeparator,))
        return (end + 1, "", None) if sep is None else (sep + 1, "", (end, end))
    if kind is tok.ArgumentOpen or kind is tok.CommentStart:
        return _span_end(tokens, i) + 1, "", None
    end = _span_end(tokens, i)
    if kind is tok.HeadingStart:  # most headings are plain text: no node to build
        title = _head_text(tokens, i, (tok.HeadingEnd,))
        if title is not None:
            return end + 1, _heading_line(title), None
    return end + 1, None, None


def render_wikitext(text: str, out: list[str]) -> None:
    """Append the visible prose of ``text`` to ``out``: what :func:`_render` writes for its whole parse tree.

    The tree builder is most of the cost of parsing, and most of what it would build shows nothing or only the
    text it holds: the tokens are read one by one (:func:`_prose_step`), and only headings with markup in their
    title, entities and the templates whose words are read from their parameters are built into nodes and rendered.
    """
    tokens = _Tokenizer().tokenize(text, 0, False)
    tails: list[tuple[int, int]] = []  # closing tokens of the constructs being unwrapped, innermost last
    i, n = 0, len(tokens)
    while i < n:
        if tails and i == tails[-1][0]:
            i = tails.pop()[1] + 1
            continue
        kind = type(tokens[i])
        if kind is tok.Text:
            out.append(tokens[i]["text"])
            i += 1
            continue
        if kind is tok.WikilinkOpen:
            simple = _simple_link(tokens, i)
            if simple is not None:  # most links: [[title]] or [[title|text]], markup in neither
                i, shown = simple
                out.append(shown)
                continue
        end, shown, tail = _prose_step(tokens, i)
        if shown is None:
            _render(Builder().build(tokens[i:end]), out)
        else:
            out.append(shown)
        if tail is not None:
            tails.append(tail)
        i = end
