"""The build record, ``build_info.json``: what a build read and wrote (with sha256), written and read back.

``classit-data push`` trusts nothing else: it reads the record with ``read_build_info`` and pushes the files
listed there. Nothing in the record depends on the clock or the machine (``stable_report``), so a rebuild
from the same inputs gives the same bytes and pushing it makes no new commit.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.core.resources import portable_name

BUILD_INFO = "build_info.json"
BUILD_FORMAT = "classit-data/build"
BUILD_FORMAT_VERSION = 1
#: the dataset's configs, one folder each: one per source, and both sources shuffled together
CONFIGS = ("switchboard", "simple_wiki", "merged")
#: parts of another step's report that change from run to run (timings, temporary paths)
UNSTABLE_KEYS = {
    "seconds",
    "timings",
    "outputs",
    "inputs",
    "passages",
    "tokenizer",
    "out",
    "out_dir",
    "path",
    "files",
    "started",
    "finished",
}


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def stable_report(obj):
    """A report without its timings and paths: what the build records must not change between identical builds.

    A count under a name that elsewhere holds a path (prepare-wiki's ``passages``) is kept."""
    if isinstance(obj, dict):
        return {
            k: stable_report(v)
            for k, v in obj.items()
            if (k not in UNSTABLE_KEYS or _is_count(v))
            and not k.startswith("seconds")
            and not k.endswith(("_seconds", "_s"))
        }
    if isinstance(obj, list):
        return [stable_report(v) for v in obj]
    return json.loads(json.dumps(obj, default=str)) if not isinstance(obj, (str, int, float, bool, type(None))) else obj


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def library_versions() -> dict:
    """Versions that decide the bytes of the Parquet files."""
    import datasets
    import polars
    import pyarrow

    return {"pyarrow": pyarrow.__version__, "polars": polars.__version__, "datasets": datasets.__version__}


#: an absolute path inside a text: two or more components, not part of a word or a URL
_ABSOLUTE = re.compile(r"(?<![\w:/.~-])(/[\w.~+-]+(?:/[\w.~+@=,%-]*)+)")


def portable(obj, folder: Path):
    """``obj`` with every absolute path of this machine in it (a value, or a path inside a text such as the
    command line) named relative to ``folder`` or as a file of the package
    (:func:`~classit_data.core.resources.portable_name`): what a build writes names no folder of the machine
    that built it, and is the same wherever the pipeline folder lies."""
    if isinstance(obj, dict):
        return {k: portable(v, folder) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [portable(v, folder) for v in obj]
    if isinstance(obj, str) and "/" in obj:
        return _ABSOLUTE.sub(lambda m: _local(m.group(1), folder), obj)
    return obj


def _local(path: str, folder: Path) -> str:
    """A path of this machine (its first folder exists here) as :func:`portable` names it; another as it is."""
    first = Path("/", Path(path).parts[1])
    return portable_name(path, folder) if first.is_dir() else path


def write_build_info(folder: Path, record: dict) -> None:
    """List every file of ``folder`` (sha256 and size) in the record, then write the record beside them."""
    record["files"] = {
        str(p.relative_to(folder)): {"sha256": sha256_file(p), "size": p.stat().st_size}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    (folder / BUILD_INFO).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_build_info(dataset_dir: str | Path) -> dict:
    """The build record of a dataset folder; an ``InputError`` when there is none or it is not ours."""
    path = Path(dataset_dir) / BUILD_INFO
    if not Path(dataset_dir).is_dir():
        raise InputError("no such folder", dataset_dir)
    if not path.is_file():
        raise InputError("no build_info.json: this folder was not made by `classit-data build`", dataset_dir)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable build record: {exc}", path) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"unreadable build record: not UTF-8 text (byte 0x{exc.object[exc.start]:02x})", path) from exc
    if not isinstance(info, dict) or info.get("format") != BUILD_FORMAT:
        raise InputError("not a classit-data build record", path)
    if info.get("format_version") != BUILD_FORMAT_VERSION:
        raise InputError(
            f"build record version {info.get('format_version')} is not "
            f"{BUILD_FORMAT_VERSION}; rebuild with this version",
            path,
        )
    return info
