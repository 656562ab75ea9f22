"""Count the cleaning defects left in converted Switchboard text, on every real Switchboard corpus.

Converts each corpus with ``convert_switchboard`` keeping every adjacent-turn pair (``--min-words 0``,
no upper bound), so every turn is looked at, then counts the rows whose prompt or reply has:

- ``orphan_paren``: a parenthesis without its partner, or any ``((``/``))`` (uncertain-transcription
  brackets are never text);
- ``doubled_punct``: two or more punctuation marks in a row (spaces between them allowed) other than an
  ellipsis ``...``: ``again..``, ``or?.``, ``you know.,``, ``More money ,``.

The code measured is whatever ``classit_data`` the interpreter imports: run it once with ``PYTHONPATH`` at
an older checkout and once at this one to compare.

    PYTHONPATH=. .venv/bin/python benchmarks/switchboard_defects.py [--corpora ../shared/corpora]
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from pathlib import Path

import polars as pl

from classit_data.switchboard.config import ConvertConfig
from classit_data.switchboard.convert import convert_switchboard

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = Path(os.environ.get("CLASSIT_CORPORA", ROOT.parent / "shared" / "corpora"))
#: corpus name -> (path under the corpora folder, forced format or None)
CORPORA = {
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    args = ap.parse_args()
    import classit_data

    print(f"classit_data from {Path(classit_data.__file__).parent}")
    print(f"{'corpus':<18}{'rows':>8}" + "".join(f"{d:>15}" for d in DEFECTS))
    with tempfile.TemporaryDirectory() as tmp:
        for name, (rel, fmt) in CORPORA.items():
            path = args.corpora / rel
            if not path.exists():
                print(f"{name:<18}  (not found: {path})")
                continue
            c = count(path, fmt, Path(tmp))
            print(f"{name:<18}{c['rows']:>8,}" + "".join(f"{c[d]:>15,}" for d in DEFECTS))


if __name__ == "__main__":
    main()
