"""Write a synthetic Simple-Wikipedia-like dump (.xml.bz2) of N articles for benchmarks.

The wikitext has what real pages have and what costs time to clean: an infobox with nested templates,
``<ref>`` tags holding citation templates, files with captions that contain links, tables, lists, several
sections, categories and interlanguage links; about a quarter of the pages are redirects and a few are
talk pages, as in the real dump. Article sizes vary (a long tail of long articles, median ~2 KB of
wikitext). The text is random words, so it is only good for timing, not for reading.

    .venv/bin/python benchmarks/make_synthetic_wiki.py N OUT.xml.bz2 [--seed S]
"""

from __future__ import annotations

import argparse
import bz2
import io
import random
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: the writer is a test helper
from tests.wiki.export_xml import write_export_xml  # noqa: E402

WORDS = (
    "the a is was are were has had city river people animal plant country town year small large "
    "old new first last many most some other often called known made lives found grows built "
    "named used part group kind north south east west water food music game school family king "
    "world island mountain language church house road train ship bird fish tree flower summer "
    "winter history science art book song team player war peace farm market village state"
).split()
CAPS = (
    "Anna Berlin Carlo Delta Egypt France Georgia Hanna India Japan Kenya Lima Milan Norway Oslo "
    "Peru Quebec Rome Sweden Texas Utah Vienna Wales York Zurich"
).split()


def sentence(rng: random.Random, link_rate: float = 0.15) -> str:
    n = rng.randint(7, 22)
    words = []
    for _ in range(n):
        w = rng.choice(CAPS) if rng.random() < 0.08 else rng.choice(WORDS)
        if rng.random() < link_rate:
            w = f"[[{w}]]" if rng.random() < 0.6 else f"[[{w.title()} {rng.choice(WORDS)}|{w}]]"
        elif rng.random() < 0.03:
            w = f"'''{w}'''"
        words.append(w)
    words[0] = words[0][:1].upper() + words[0][1:] if not words[0].startswith("[") else words[0]
    s = " ".join(words) + rng.choice([".", ".", ".", ".", "!", "?"])
    if rng.random() < 0.2:
        s += (
            f"<ref>{{{{cite web|url=http://example.org/{rng.randint(1, 10**6)}|title={rng.choice(CAPS)} "
            f"{{{{nowrap|{rng.choice(WORDS)}}}}}|date={rng.randint(1990, 2024)}}}}}</ref>"
        )
    elif rng.random() < 0.05:
        s += '<ref name="a" />'
    return s


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 7)))


def article(rng: random.Random, title: str) -> str:
    lead = paragraph(rng)
    parts = [
        "{{Infobox place\n| name = " + title + f"\n| image = [[File:{title}.jpg|200px]]\n"
        f"| population = {{{{formatnum:{rng.randint(100, 10**7)}}}}}\n"
        f"| area = {{{{convert|{rng.randint(1, 9000)}|km2|sqmi}}}}\n}}}}",
        f"'''{title}''' " + lead[0].lower() + lead[1:],
    ]
    if rng.random() < 0.5:
        parts.append(
            f"[[File:{title} view.jpg|thumb|right|A view of [[{rng.choice(CAPS)}]] from the "
            f"[[{rng.choice(WORDS)}|{rng.choice(WORDS)}]]]]"
        )
    # long-tailed length: most articles are short, a few are long, as on Simple Wikipedia
    for _ in range(min(int(rng.expovariate(1 / 2.5)), 12)):
        parts.append(f"== {rng.choice(WORDS).title()} {rng.choice(WORDS)} ==")
        for _ in range(rng.randint(1, 3)):
            parts.append(paragraph(rng))
        if rng.random() < 0.2:
            parts.append("\n".join(f"* [[{rng.choice(CAPS)}]] {rng.choice(WORDS)}" for _ in range(rng.randint(2, 6))))
        if rng.random() < 0.1:
            rows = "\n|-\n".join(f"| {rng.choice(WORDS)} || {rng.randint(1, 999)}" for _ in range(rng.randint(2, 5)))
            parts.append('{| class="wikitable"\n! Name !! Number\n|-\n' + rows + "\n|}")
    parts.append("== References ==\n{{reflist}}")
    parts.append(
        "\n".join(f"[[Category:{rng.choice(WORDS).title()}s of {rng.choice(CAPS)}]]" for _ in range(rng.randint(1, 4)))
    )
    if rng.random() < 0.3:
        parts.append(f"[[de:{title}]]\n[[fr:{title}]]")
    return "\n\n".join(parts)


def pages(n_articles: int, seed: int) -> Iterator[dict]:
    rng = random.Random(seed)
    page_id = 0
    for i in range(n_articles):
        page_id += 1
        title = f"{rng.choice(CAPS)} {rng.choice(WORDS).title()} {i}"
        yield {"id": page_id, "title": title, "text": article(rng, title)}
        if rng.random() < 0.33:  # redirects are about a quarter of the pages
            page_id += 1
            yield {"id": page_id, "title": title.upper(), "text": f"#REDIRECT [[{title}]]", "redirect": title}
        if rng.random() < 0.03:
            page_id += 1
            yield {"id": page_id, "ns": 1, "title": f"Talk:{title}", "text": paragraph(rng)}


def write_synthetic_dump(n_articles: int, out: str | Path, seed: int = 0) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with bz2.open(out, "wb", compresslevel=9) as raw, io.TextIOWrapper(raw, encoding="utf-8") as fh:
        write_export_xml(pages(n_articles, seed), fh)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_articles", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    path = write_synthetic_dump(args.n_articles, args.out, args.seed)
    print(f"wrote {path} ({args.n_articles:,} articles, {path.stat().st_size:,} bytes)")
