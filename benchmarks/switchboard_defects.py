"""Count the cleaning defects left in converted Switchboard text, on every real Switchboard corpus.

Converts each corpus with ``convert_switchboard`` keeping every adjacent-turn pair (``--min-words 0``,
no upper bound), so every turn is looked at, then counts the rows whose prompt or reply has:

- ``orphan_paren``: a parenthesis without its partner, or any ``((``/``))`` (uncertain-transcription
  brackets are never text);
- ``doubled_punct``: two or more punctuation marks in a row (spaces between them allowed) other than an
  ellipsis ``...``: ``again..``, ``or?.``, ``you know.,``, ``More money ,``.

The code measured is whatever ``classit_data`` the interpreter imports: run it once with ``PYTHONPATH`` at
an older checkout and once at this one to compare.

    python -m benchmarks switchboard_defects [--corpora ../shared/corpora]
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import polars as pl

from benchmarks.harness import CORPORA, Call, Report, options, parse
from classit_data.switchboard.config import ConvertConfig
from classit_data.switchboard.convert import convert_switchboard

#: corpus name -> (path under the corpora folder, forced format or None)
SOURCES = {
    "babylm": ("babylm/switchboard.train", None),
    "swda-pipe": ("swda", None),
    "nltk-tagged": ("nltk/switchboard.zip", "nltk-tagged"),
    "nltk-transcript": ("nltk/switchboard.zip", "nltk-transcript"),
    "nltk-disfluency": ("nltk/switchboard.zip", "nltk-disfluency"),
}
_RUN = re.compile(r"[,.?!;:](?:\s*[,.?!;:])+")


def orphan_paren(text: str) -> bool:
    """Does a parenthesis lack its partner (or is there a double one)?"""
    if "((" in text or "))" in text:
        return True
    depth = 0
    for c in text:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return True
    return depth != 0


def doubled_punct(text: str) -> bool:
    """Two or more marks in a row, other than an ellipsis?"""
    return any(m.group() != "..." for m in _RUN.finditer(text))


DEFECTS = {"orphan_paren": orphan_paren, "doubled_punct": doubled_punct}


def count(path: Path, fmt: str | None, tmp: Path) -> dict[str, int]:
    out = tmp / "rows.parquet"
    convert_switchboard([path], out, ConvertConfig(fmt=fmt, min_words=0, max_words=1_000_000), progress=False)
    rows = pl.read_parquet(out, columns=["prompt", "reply"])
    texts = list(zip(rows["prompt"].to_list(), rows["reply"].to_list()))
    counts = {"rows": len(texts)}
    for name, test in DEFECTS.items():
        counts[name] = sum(test(p) or test(r) for p, r in texts)
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    args = parse(parser, argv)
    report = Report("switchboard_defects", "Switchboard cleaning: defects left in converted text", argv)
    rows, absent = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (rel, fmt) in SOURCES.items():
            path = args.corpora / rel
            if not path.exists():
                absent.append(f"{name} ({rel})")
                continue
            m = Call(count, path, fmt, Path(tmp)).measure()
            rows.append({"corpus": name, **m.output, "wall s": m.wall_s, "peak RSS MB": m.peak_rss_mb})
    report.line(
        "Every adjacent-turn pair kept (`--min-words 0`); rows whose prompt or reply has an unpaired or doubled "
        "parenthesis (orphan_paren) or two punctuation marks in a row other than an ellipsis (doubled_punct)."
    )
    report.table(rows)
    if absent:
        report.line("Not found under the corpora folder: " + ", ".join(absent) + ".")
    report.write(args.results)


if __name__ == "__main__":
    main()
