"""Count the defects of real Wikipedia text in `prepare-wiki` passages, class by class.

Runs the real command (whatever `classit_data` PYTHONPATH gives: point it at an older checkout to get the
"before" figures) on the real files in ../shared/corpora/wiki_real, then counts, in the passages and section
names it wrote:

1. HTML entities left as text (``&nbsp;``, ``&ndash;``, ``&#160;``);
2. traces of words dropped mid-sentence: an empty parenthesis, a parenthesis opening on a comma or
   semicolon, a sentence opening on a comma, a space before a comma, doubled commas, "c." without a year;
3. passages that start or end mid-sentence: starting lowercase, ending on an abbreviation or without a
   sentence end (a passage ending with ":" is counted under 4);
4. passages ending with a ":" lead-in;
5. prose words not accounted for: read - (in passages + dropped by reason) (``n/a`` when the summary
   does not say how many prose words were read);
6. section names that do not look like headings, and ``formula_N`` / ``codice_N`` placeholders;
7. the bad inputs made from the same files (a fragment cut mid-tag, the dump in UTF-16 with a BOM, a Git LFS
   pointer): whether each ends with exit 2, one line, no output (the UTF-16 dump must instead be read).

    python -m benchmarks wiki_defects [--corpora DIR]
"""

from __future__ import annotations

import bz2
import json
import re
import tempfile
from pathlib import Path

from benchmarks.harness import CORPORA, Command, Measurement, Report, options, parse, python

FILES = ("enwiki-special-export-20171220.xml.bz2", "wikiextractor_AA_wiki_00.bz2")

ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#\d+|#x[0-9A-Fa-f]+);")
LOST = {
    "empty parenthesis": re.compile(r"\(\s*\)"),
    "parenthesis opening on , or ;": re.compile(r"\(\s*[,;:]"),
    "sentence opening on , or ;": re.compile(r"(?:^|[.!?][\"'”’)]*\s+)[,;:]"),
    "space before , or ;": re.compile(r"\s[,;](?=\s|$)"),
    "doubled commas": re.compile(r"[,;]\s*[,;]"),
    "c. without a year": re.compile(r"(?<![&\w])c\.(?=\s*(?:[^\w\s\"'‘“(]|$))"),
}
#: abbreviations after which a passage cannot end (a sentence does not end on "Brown v.")
ABBREVIATIONS = frozenset(
    "v vs spp sp ssp subsp var par para no nos fig figs sec ch chap vol vols pp p ed "
    "eds op cf ca approx dr mr mrs ms st mt jr sr gen col lt rev fl e.g i.e".split()
)
_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_LAST = re.compile(r"(\S+)\.[\"'”’)]*$")
_FUNCTION_WORDS = frozenset(
    "a an the of that and or to in for with by as from are is was were include includes included".split()
)
PLACEHOLDER = re.compile(r"\b(?:formula|codice)_\d+")


def run(path: Path, out: Path, extra: tuple[str, ...] = ()) -> Measurement:
    """The command, from the output's folder: ``-m`` puts the working folder before PYTHONPATH."""
    cmd = python("-m", "classit_data", "prepare-wiki", path, "--out", out, "--json", *extra)
    return Command(cmd, cwd=out.parent, env={"HF_HUB_OFFLINE": "1"}, check=False).measure()


def bad_section(name: str) -> bool:
    words = name.split()
    return bool(name) and (
        name[-1] in ",:;"
        or not (name[0].isupper() or name[0].isdigit())
        or bool(PLACEHOLDER.search(name))
        or bool(re.search(r"[\[\]{}]", name))
        or words[-1].lower() in _FUNCTION_WORDS
    )


def mid_sentence(text: str) -> bool:
    if text[0].islower() or not _END.search(text.rstrip(":")):
        return True
    m = _LAST.search(text)
    return bool(m) and (m.group(1).lower() in ABBREVIATIONS or m.group(1).rsplit("(", 1)[-1].lower() in ABBREVIATIONS)


def count(rows: list[dict], summary: dict) -> dict:
    texts = [r["text"] for r in rows]
    lost = {k: sum(1 for t in texts if p.search(t)) for k, p in LOST.items()}
    dropped = summary.get("prose_words_dropped")
    return {
        "passages": len(rows),
        "1 entities": sum(1 for t in texts if ENTITY.search(t)),
        "2 words lost mid-sentence": sum(lost.values()),
        **{f"  2 {k}": v for k, v in lost.items()},
        "3 mid-sentence start or end": sum(1 for t in texts if mid_sentence(t)),
        "4 ending with ':'": sum(1 for t in texts if t.rstrip().endswith(":")),
        "5 prose words unaccounted": (
            "n/a" if dropped is None else summary["prose_words"] - summary["words"] - sum(dropped.values())
        ),
        "6 bad section names": len({(r["article_id"], r["section"]) for r in rows if bad_section(r["section"])}),
        "6 placeholders in passages": sum(1 for t in texts if PLACEHOLDER.search(t)),
    }


def bad_inputs(dump: Path, work: Path) -> dict:
    """The three bad inputs of defect 7, made from the real dump; True = handled as it should be."""
    xml = bz2.decompress(dump.read_bytes())
    cut = work / "fragment.xml"
    start = xml.rindex(b"<page>", 0, xml.index(b"<title>Category:")) + 2  # "age>\n<title>Category:..."
    cut.write_bytes(xml[start : start + 200_000])
    utf16 = work / "utf16.xml"
    utf16.write_bytes(xml.decode("utf-8").replace('<?xml version="1.0"?>', "").encode("utf-16"))
    lfs = work / "lfs.xml.bz2"
    lfs.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 209340\n")
    result = {}
    for name, path in (("fragment", cut), ("lfs pointer", lfs)):
        out = work / f"{name}.jsonl"
        proc = run(path, out)
        lines = [ln for ln in proc.error.splitlines() if ln.strip()]
        result[f"7 {name} refused (exit 2, one line, no output)"] = (
            proc.returncode == 2 and len(lines) == 1 and not out.exists()
        )
        result[f"  7 {name} message"] = lines[-1] if lines else ""
    out = work / "utf16.jsonl"
    proc = run(utf16, out)
    result["7 utf-16 dump read"] = proc.returncode == 0 and out.exists() and out.stat().st_size > 0
    result["  7 utf-16 message"] = proc.error.strip().splitlines()[-1] if proc.returncode else "read"
    return result


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    args = parse(parser, argv)
    real = args.corpora / "wiki_real"
    report = Report("wiki_defects", "prepare-wiki on real Wikipedia text: defects class by class", argv)
    found: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in FILES if real.is_dir() else ():
            out = work / f"{name}.jsonl"
            proc = run(real / name, out, ("--workers", "1"))
            if proc.returncode:
                raise SystemExit(f"prepare-wiki failed on {name}: {proc.error}")
            rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
            found[name] = count(rows, json.loads(proc.output)) | {"wall s": proc.wall_s}
        bad = bad_inputs(real / FILES[0], work) if real.is_dir() else {}
    if not found:
        report.line(f"Not run: {real} is absent.")
    else:
        report.line("Counts of passages (section names for 6) with each defect, in what `prepare-wiki` wrote.")
        classes = list(dict.fromkeys(k for counts in found.values() for k in counts))
        report.table([{"defect": k, **{f"`{f}`": counts.get(k) for f, counts in found.items()}} for k in classes])
        report.table([{"bad input": k.strip(), "result": v} for k, v in bad.items()])
    report.write(args.results)


if __name__ == "__main__":
    main()
