"""Reading and writing row files: Parquet or JSON lines, always written atomically."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from classit_data.core.errors import InputError, first_line
from classit_data.core.signals import deferred

if TYPE_CHECKING:  # polars is imported where rows are read or written: not every command needs it
    import polars as pl


def current_umask() -> int:
    """The process's umask, read without changing it (``os.umask`` can only be read by setting it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    A failed or killed run therefore never leaves a partial file and never damages an earlier good one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path: Path | None = None
    try:
        with deferred():  # a Ctrl-C between making the temporary and naming it here would leave it behind
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            tmp_path = Path(tmp)
            # mkstemp makes 0600 files; a written file gets what the umask gives any new file, for colleagues
            os.chmod(tmp_path, 0o666 & ~current_umask())
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path is not None and tmp_path.exists():
            tmp_path.unlink()


def summary_path(out: str | Path) -> Path:
    """Where a step records its summary beside its output: ``rows.parquet`` -> ``rows.parquet.summary.json``; a
    later ``build`` finds it there and carries it into ``build_info.json``. Named after the whole file name, so
    ``sw.v1.parquet``, ``sw.v2.parquet`` and ``sw.jsonl`` in one folder each keep their own record."""
    out = Path(out)
    return out.with_name(f"{out.name}.summary.json")


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


#: the names a row file may have: what ``write_rows`` writes, by suffix
ROW_SUFFIXES = (".parquet", ".jsonl")


def check_row_file(flag: str, path: str | Path) -> None:
    """Refuse a row output whose name says another format (``x.csv`` would hold Parquet)."""
    if Path(path).suffix not in ROW_SUFFIXES:
        raise InputError(f"{flag} must end in .parquet or .jsonl (the format written)", path)


def write_rows(rows: pl.DataFrame | Sequence[dict], path: str | Path, schema: dict | None = None) -> Path:
    """Write rows to Parquet, or JSON lines when the name ends in ``.jsonl``; atomically."""
    import polars as pl

    path = Path(path)
    df = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(list(rows), schema=schema, strict=False)
    with atomic_path(path) as tmp, _WriteErrors(tmp, "wb") as f:
        try:
            if path.suffix == ".jsonl":
                df.write_ndjson(f)
            else:
                df.write_parquet(f, compression="zstd", statistics=True)
        except Exception:
            if f.error is not None:  # polars words a full disk as a format error: say what happened
                raise f.error from None
            raise
    return path


class _WriteErrors(io.FileIO):
    """A file that keeps the first error of a write (a full disk), which a writing library may reword."""

    error: OSError | None = None

    def write(self, data) -> int:
        try:
            return super().write(data)
        except OSError as exc:
            self.error = self.error or exc
            raise


def read_rows(paths: str | Path | Iterable[str | Path], required: Sequence[str] = ()) -> pl.DataFrame:
    """Read one or more Parquet / JSON-lines row files into one frame, checking required columns.

    Every problem is an ``InputError`` naming the file.
    """
    import polars as pl

    if isinstance(paths, (str, Path)):
        paths = [paths]
    frames = []
    for p in map(Path, paths):
        if not p.exists():
            raise InputError("no such file", p)
        if p.is_dir():
            raise InputError("is a folder, expected a .parquet or .jsonl file", p)
        try:
            if p.suffix in (".jsonl", ".json", ".ndjson"):
                if p.stat().st_size == 0:
                    raise InputError("empty file", p)
                df = pl.read_ndjson(p, infer_schema_length=None)
            else:
                df = pl.read_parquet(p)
        except InputError:
            raise
        except Exception as exc:  # polars/pyarrow raise many types; the user needs one line
            if p.suffix in (".jsonl", ".json", ".ndjson"):  # name the first bad line, as polars does not
                with p.open("rb") as lines:
                    for _ in parse_json_lines(enumerate(lines, 1), p):
                        pass
            raise InputError(f"cannot read rows: {first_line(exc)}", p) from exc
        missing = [c for c in required if c not in df.columns]
        if missing:
            raise InputError(f"missing column(s) {', '.join(missing)}", p)
        frames.append(df)
    if not frames:
        raise InputError("no input files given")
    return pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]


def parse_yaml_mapping(text: str | bytes, path: str | Path, expected: str) -> dict:
    """A YAML (or JSON) mapping from ``text``; anything else is one ``InputError`` naming the file and line.

    An empty file is an empty mapping; ``expected`` says what the mapping should hold, for the error.
    """
    import yaml

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"bad YAML: {getattr(exc, 'problem', None) or first_line(exc)}", path, mark.line + 1 if mark else None
        ) from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise InputError(f"expected a mapping of {expected}", path)
    return loaded


def read_yaml_mapping(path: str | Path, what: str, expected: str) -> dict:
    """Read a YAML/JSON configuration file ``what`` into a mapping (see ``parse_yaml_mapping``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", path) from exc
    except UnicodeDecodeError as exc:  # a binary file, or another encoding
        raise InputError(
            f"cannot read {what}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})", path
        ) from exc
    return parse_yaml_mapping(text, path, expected)


def parse_json_lines(lines: Iterable[tuple[int, str | bytes]], path: str | Path) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` of every non-blank line of ``lines`` (numbered lines of ``path``, read by the
    caller's own reader); a line that is not a JSON object is an ``InputError`` naming its number."""
    for line_no, text in lines:
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", path, line_no) from None
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON line: {exc.msg} (column {exc.colno})", path, line_no) from None
        if not isinstance(row, dict):
            raise InputError("not a JSON object", path, line_no)
        yield line_no, row


def json_lines(path: str | Path) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` of every non-blank line of a whole file, read first; a file without one is an
    error."""
    with open(path, encoding="utf-8") as f:
        try:
            lines = list(f)
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason})", path) from None
    n_rows = 0
    for line_no, row in parse_json_lines(enumerate(lines, 1), path):
        n_rows += 1
        yield line_no, row
    if n_rows == 0:
        raise InputError("empty file (no JSON lines)", path)
