"""Templates met in running text: the words of those that stand for words, nothing for the invisible ones,
and a marker (:data:`LOST`) for the rest.

A template we cannot render may have carried words ("{{as of|2011}}", an IPA pronunciation, a quotation).
Dropping it silently leaves sentences such as "(, occasionally)" or "the falls c.. His work"; the marker
lets the cleaner remove the parenthesis that held it, or drop the sentence that lost words, and count it.
Templates that are never shown inside a sentence (references, maintenance tags, hatnotes, infoboxes, which
stand on lines of their own) leave either nothing or a marker where it does no harm (see
:func:`classit_data.wiki.clean.tidy`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: where a template or tag that may have carried words was removed
LOST = "\x03"

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: templates that only print a symbol or a space
SYMBOLS = {
    "nbsp": " ",
    "ndash": "–",
    "mdash": "—",
    "snd": " – ",
    "spaced ndash": " – ",
    "spaced en dash": " – ",
    "dash": " – ",
    "en dash": "–",
    "em dash": "—",
    "·": " · ",
    "•": " • ",
    "!": "|",
    "=": "=",
    "'": "'",
    "'s": "'s",
    "`": "'",
    "zwsp": "",
    "shy": "",
    "wbr": "",
    "thinsp": " ",
    "-": "",
    "okina": "ʻ",
    "spaces": " ",
    "space": " ",
}

#: templates shown as their first positional parameter (formatting around words)
_FIRST = frozenset(
    {
        "nowrap",
        "nobr",
        "small",
        "smaller",
        "big",
        "larger",
        "sic",
        "nihongo",
        "nihongo2",
        "ill",
        "interlanguage link",
        "lang-en",
        "nobold",
        "noitalic",
        "em",
        "strong",
        "var",
        "abbr",
        "smallcaps",
        "sc",
        "visible anchor",
        "not a typo",
        "proper name",
        "linktext",
        "vr",
        "bigger",
        "nowrap begin",
        "tooltip",
        "abbrlink",
        "gloss",
        "lang-x",
        "wikt-lang",
        "keypress",
        "serif",
        "sans-serif",
        "mono",
        "monospace",
        "uc",
        "lc",
        "ucfirst",
        "sup",
        "sub",
        "flag",
        "flagcountry",
        "flagu",
        "vanchor",
        "lang-rtl",
        "nowiki",
    }
)
#: templates shown as their last positional parameter (the text after a colour, size or script code)
_LAST = frozenset(
    {"resize", "font color", "color", "colored text", "transl", "transliteration", "script", "native name"}
)
#: name patterns of templates never shown inside a sentence: references and their notes, inline cleanup tags,
#: language icons, stubs, layout
_INVISIBLE = re.compile(
    r"^(?:cite.*|citation.*|sfn.*|harv.*|efn.*|refn|r|rp|ref\b.*|reflist.*|refbegin|refend|notelist.*|"
    r"note\b.*|notetag|cref.*|cnote.*|#tag:ref.*|cn|fact|better source.*|clarify.*|dubious.*|dead ?link|"
    r"webarchive|who|whom|by whom|which|when|where|according to whom|vague|verify.*|failed verification.*|"
    r"update.*|disputed.*|specify|examples|or|peacock.*|pov.*|weasel.*|original research.*|unreliable source.*|"
    r"self-published.*|primary source.*|third-party.*|says who|elucidate|definition.*|irrelevant citation|"
    r"obsolete source|contradict.*|anchor.*|clear.*|clr|-|break|toc.*|italic title|displaytitle|defaultsort.*|"
    r"use .*|engvar.*|short description|pp.*|good article|featured article|subscription required|"
    r"registration required|free access|open access|closed access|.*-stub|.*stub|.* icon|in lang|.*needed|"
    r".*inline|.*\?|commons.*|wikisource.*|wiktionary.*|portal.*|main|see also|further|about|for|other uses.*|"
    r"distinguish|redirect.*|hatnote|multiple issues|refimprove|more citations needed|orphan|notability|"
    r"authority control|coord missing|spoken wikipedia|wikidata.*|good|dn|page needed|year needed)$"
)
#: templates that are quotations or pronunciations: block or parenthetical words we do not render
_WORD_CARRIERS = re.compile(
    r"^(?:quote|blockquote|cquote|quotation|quote box|rquote|pull quote|poem quote|"
    r"ipac?-.*|ipa-.*|respell|pronunciation|pron|audio.*|math|mvar|tmath)$"
)


def date_text(params: list[str]) -> str:
    """``{{birth date|1950|5|17}}`` -> ``17 May 1950`` (only the numbers; extra parameters ignored)."""
    nums = [p for p in params if p.strip().isdigit()]
    if len(nums) >= 3 and 1 <= int(nums[1]) <= 12:
        return f"{int(nums[2])} {_MONTHS[int(nums[1]) - 1]} {nums[0]}"
    if len(nums) == 2 and 1 <= int(nums[1]) <= 12:
        return f"{_MONTHS[int(nums[1]) - 1]} {nums[0]}"
    return nums[0] if nums else ""


def _as_of(positional: list[str], named: dict[str, str]) -> str | None:
    """``{{as of|2011}}`` -> "As of 2011"; ``{{as of|2013|April}}`` -> "As of April 2013" (``lc=y``: "as of")."""
    if not positional:
        return None
    year, rest = positional[0], positional[1:3]
    month = rest[0] if rest else ""
    if month.isdigit() and 1 <= int(month) <= 12:
        month = _MONTHS[int(month) - 1]
    day = rest[1] if len(rest) > 1 and rest[1].isdigit() else ""
    lead = "since" if named.get("since", "").lower() in ("y", "yes") else "as of"
    if named.get("lc", "").lower() not in ("y", "yes", "on", "true"):
        lead = lead.capitalize()
    return named.get("alt") or " ".join(x for x in (lead, day, month, year) if x)


def _circa(positional: list[str]) -> str | None:
    """``{{circa|1763}}`` -> "c. 1763"; with two years a range; without a year None (the words are lost)."""
    if not positional or not positional[0]:
        return None
    return f"c. {positional[0]}" + (f" – c. {positional[1]}" if len(positional) > 1 and positional[1] else "")


def _convert(positional: list[str]) -> str | None:
    if len(positional) < 2:
        return None
    if len(positional) >= 4 and positional[1] in ("-", "–", "to", "and", "or", "by", "x", "+/-"):
        return " ".join(positional[:4])  # a range: {{convert|5|to|10|km}}
    return f"{positional[0]} {positional[1]}"


def _frac(positional: list[str]) -> str | None:
    """``{{frac|1|2}}`` -> "1/2", ``{{frac|3|1|2}}`` -> "3 1/2", ``{{frac|4}}`` -> "1/4"."""
    if len(positional) == 1:
        return f"1/{positional[0]}"
    if len(positional) == 2:
        return f"{positional[0]}/{positional[1]}"
    if len(positional) >= 3:
        return f"{positional[0]} {positional[1]}/{positional[2]}"
    return None


_DATES = frozenset(
    {
        "birth date",
        "birth date and age",
        "death date",
        "death date and age",
        "start date",
        "end date",
        "dts",
        "date",
        "birth year and age",
        "death year and age",
        "start date and age",
        "film date",
    }
)


def _named(node) -> dict[str, str]:
    return {str(p.name).strip().lower(): str(p.value).strip() for p in node.params if p.showkey}


#: (name, positional parameters, node) -> the wikitext a template shows, or None when it lost its words
Reader = Callable[[str, list[str], object], "str | None"]
#: the templates whose words are read from their parameters, by name; the one list of them
_READERS: dict[str, Reader] = {
    **dict.fromkeys(_FIRST, lambda name, p, node: p[0] if p else ""),
    **dict.fromkeys(_LAST, lambda name, p, node: p[-1] if p else ""),
    "lang": lambda name, p, node: p[1] if len(p) >= 2 else None,
    **dict.fromkeys(("convert", "cvt"), lambda name, p, node: _convert(p)),
    **dict.fromkeys(("frac", "sfrac", "fraction"), lambda name, p, node: _frac(p)),
    **dict.fromkeys(_DATES, lambda name, p, node: date_text(p) or None),
    **dict.fromkeys(("circa", "c.", "ca.", "ca", "circ.", "circ"), lambda name, p, node: _circa(p)),
    **dict.fromkeys(("as of", "asof"), lambda name, p, node: _as_of(p, _named(node))),
    **dict.fromkeys(("floruit", "fl.", "fl"), lambda name, p, node: f"fl. {p[0]}" if p else None),
    "sortname": lambda name, p, node: f"{p[0]} {p[1]}" if len(p) >= 2 else None,
    **dict.fromkeys(("isbn", "issn", "oclc", "doi"), lambda name, p, node: f"{name.upper()} {p[0]}" if p else None),
    **dict.fromkeys(("us$", "usd"), lambda name, p, node: f"US${p[0]}" if p else None),
    **dict.fromkeys(("bc", "bce"), lambda name, p, node: f"{p[0]} {name.upper()}" if p else None),
}
#: families of them, by the start of their name ({{transl|ar|...}}, {{lang-fr|...}})
_PREFIX_READERS: tuple[tuple[str, Reader], ...] = (
    ("transl", _READERS["transl"]),
    ("lang-", lambda name, p, node: p[0] if p else None),
)


def _reader(name: str) -> Reader | None:
    """How a template's words are read from its parameters; None when its name alone decides what it shows."""
    if name in _READERS:
        return _READERS[name]
    return next((reader for prefix, reader in _PREFIX_READERS if name.startswith(prefix)), None)


def _normalized(name: str) -> str:
    name = name.strip().lower().replace("_", " ")
    return name[9:].strip() if name.startswith("template:") else name


def _unrendered(name: str) -> str:
    """An invisible template shows nothing; any other we do not render lost its words."""
    return LOST if _WORD_CARRIERS.match(name) or not _INVISIBLE.match(name) else ""


def shown_by_name(name: str) -> str | None:
    """What a template shows when its name alone decides (a symbol, a number, nothing or :data:`LOST`);
    None when its parameters must be read."""
    normal = _normalized(name)
    if normal in SYMBOLS:
        return SYMBOLS[normal]
    if normal.startswith("formatnum:"):
        return name.split(":", 1)[1].strip()
    return None if _reader(normal) is not None else _unrendered(normal)


def render_template(node, plain_of) -> str | None:
    """The words a template shows inside a sentence: text, ``""`` (nothing to show), or :data:`LOST`.

    ``plain_of`` renders a parameter's wikitext (parameters hold links and templates of their own).
    """
    shown = shown_by_name(str(node.name))
    if shown is not None:
        return shown
    name = _normalized(str(node.name))
    positional = [str(p.value).strip() for p in node.params if not p.showkey]
    words = _reader(name)(name, positional, node)
    if words is not None:
        return plain_of(words) if words else ""
    return _unrendered(name)
