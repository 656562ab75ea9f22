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

#: where a template or tag that may have carried words was removed
LOST = "\x03"

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")

#: templates that only print a symbol or a space
SYMBOLS = {"nbsp": " ", "ndash": "–", "mdash": "—", "snd": " – ", "spaced ndash": " – ", "spaced en dash": " – ",
           "dash": " – ", "en dash": "–", "em dash": "—", "·": " · ", "•": " • ", "!": "|", "=": "=", "'": "'",
           "'s": "'s", "`": "'", "zwsp": "", "shy": "", "wbr": "", "thinsp": " ", "-": "", "okina": "ʻ",
           "spaces": " ", "space": " "}

#: templates shown as their first positional parameter (formatting around words)
_FIRST = frozenset({
    "nowrap", "nobr", "small", "smaller", "big", "larger", "sic", "nihongo", "nihongo2", "ill", "interlanguage link",
    "lang-en", "nobold", "noitalic", "em", "strong", "var", "abbr", "smallcaps", "sc", "visible anchor",
    "not a typo", "proper name", "linktext", "vr", "bigger", "nowrap begin", "tooltip", "abbrlink", "gloss",
    "lang-x", "wikt-lang", "keypress", "serif", "sans-serif", "mono", "monospace", "uc", "lc", "ucfirst",
    "sup", "sub", "flag", "flagcountry", "flagu", "vanchor", "lang-rtl", "nowiki",
})
#: templates shown as their last positional parameter (the text after a colour, size or script code)
_LAST = frozenset({"resize", "font color", "color", "colored text", "transl", "transliteration", "script",
                   "native name"})
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
    r"authority control|coord missing|spoken wikipedia|wikidata.*|good|dn|page needed|year needed)$")
#: templates that are quotations or pronunciations: block or parenthetical words we do not render
_WORD_CARRIERS = re.compile(r"^(?:quote|blockquote|cquote|quotation|quote box|rquote|pull quote|poem quote|"
                            r"ipac?-.*|ipa-.*|respell|pronunciation|pron|audio.*|math|mvar|tmath)$")


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


#: names of the templates whose words :func:`_words` reads from their parameters
_DATES = frozenset({"birth date", "birth date and age", "death date", "death date and age", "start date", "end date",
                    "dts", "date", "birth year and age", "death year and age", "start date and age", "film date"})
_CIRCA = frozenset({"circa", "c.", "ca.", "ca", "circ.", "circ"})
_IDENTIFIERS = frozenset({"isbn", "issn", "oclc", "doi"})
_READ_PARAMETERS = _FIRST | _LAST | _DATES | _CIRCA | _IDENTIFIERS | {
    "lang", "convert", "cvt", "frac", "sfrac", "fraction", "as of", "asof", "floruit", "fl.", "fl", "sortname",
    "us$", "usd", "bc", "bce"}


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
    if normal in _READ_PARAMETERS or normal.startswith(("transl", "lang-")):
        return None
    return _unrendered(normal)


def render_template(node, plain_of) -> str | None:
    """The words a template shows inside a sentence: text, ``""`` (nothing to show), or :data:`LOST`.

    ``plain_of`` renders a parameter's wikitext (parameters hold links and templates of their own).
    """
    shown = shown_by_name(str(node.name))
    if shown is not None:
        return shown
    name = _normalized(str(node.name))
    positional = [str(p.value).strip() for p in node.params if not p.showkey]
    words = _words(name, positional, node)
    if words is not None:
        return plain_of(words) if words else ""
    return _unrendered(name)


def _words(name: str, positional: list[str], node) -> str | None:
    """The wikitext a word-carrying template shows; None when it is not one of those (or lost its words)."""
    if name in _FIRST:
        return positional[0] if positional else ""
    if name in _LAST or name.startswith("transl"):
        return positional[-1] if positional else ""
    if name == "lang" and len(positional) >= 2:
        return positional[1]
    if name.startswith("lang-") and positional:
        return positional[0]
    if name in ("convert", "cvt"):
        return _convert(positional)
    if name in ("frac", "sfrac", "fraction"):
        return _frac(positional)
    if name in _DATES:
        return date_text(positional) or None
    if name in _CIRCA:
        return _circa(positional)
    if name in ("as of", "asof"):
        named = {str(p.name).strip().lower(): str(p.value).strip() for p in node.params if p.showkey}
        return _as_of(positional, named)
    if name in ("floruit", "fl.", "fl") and positional:
        return f"fl. {positional[0]}"
    if name == "sortname" and len(positional) >= 2:
        return f"{positional[0]} {positional[1]}"
    if name in _IDENTIFIERS and positional:
        return f"{name.upper()} {positional[0]}"
    if name in ("us$", "usd") and positional:
        return f"US${positional[0]}"
    if name in ("bc", "bce") and positional:
        return f"{positional[0]} {name.upper()}"
    return None
