"""Settings: the one home of a stage's defaults and help, and the one way to load them.

Every stage takes one settings object, a subclass of :class:`Settings` (a pydantic model). Its fields carry
their default and their help (``Field(default, description=...)``); a command declares one option per field
with ``core.commands.setting``, which takes the flag, the default and the help from here: a scalar field is a
``--flag`` named after it. Two markers, written as ``typing.Annotated`` metadata on a field, change that:

- ``FILE_ONLY``: the field has no flag; a settings file (``--config``) or the Python API sets it;
- ``Flag("--format", "-f")``: the field's flags, when they are not ``--field-name``. A ``list[str]`` field
  becomes a repeatable option only when it is marked with ``Flag``.

``Settings.load(file, **given)`` is how every stage and command reads its settings: the defaults, then a YAML
or JSON file (or a mapping), then the values given (flags or keyword arguments, ``None`` meaning "not given").
A bad value is one ``InputError`` that names the flag or the file and key it came from.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo

from classit_data.core.errors import InputError

_SCALARS = (str, int, float, bool)


@dataclass(frozen=True)
class Flag:
    """The flags of a setting (``Annotated[str | None, Flag("--format")]``), when not ``--field-name``."""

    names: tuple[str, ...]

    def __init__(self, *names: str):
        object.__setattr__(self, "names", names)


class _FileOnly:
    """Marks a setting that has no flag (``Annotated[int, FILE_ONLY]``): set it in a settings file."""

    def __repr__(self) -> str:
        return "FILE_ONLY"


FILE_ONLY = _FileOnly()


def _marker(field: FieldInfo, kind: type) -> Any:
    return next((m for m in field.metadata if isinstance(m, kind)), None)


def scalar_type(annotation: Any) -> type | None:
    """The one scalar type of ``T``, ``T | None`` or ``Literal[...]`` of one type; None for lists, dicts..."""
    if annotation in _SCALARS:
        return annotation
    if typing.get_origin(annotation) is typing.Literal:
        kinds = {type(a) for a in typing.get_args(annotation)}
        return kinds.pop() if len(kinds) == 1 and kinds <= set(_SCALARS) else None
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return scalar_type(args[0])
    return None


def _is_str_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return len(args) == 1 and _is_str_list(args[0])
    return typing.get_origin(annotation) is list and typing.get_args(annotation) == (str,)


@dataclass(frozen=True)
class FlagSpec:
    """One setting as a command-line option: its field name, its flags, its type and whether it repeats."""

    name: str
    flags: tuple[str, ...]
    kind: type
    multiple: bool
    field: FieldInfo


class Settings(BaseModel):
    """A stage's settings. Subclasses declare fields; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def flag_specs(cls) -> dict[str, FlagSpec]:
        """The settings that are command-line options, by field name, in declaration order."""
        out = {}
        for name, field in cls.model_fields.items():
            if _marker(field, _FileOnly) is not None:
                continue
            flag = _marker(field, Flag)
            flags = flag.names if flag is not None else ("--" + name.replace("_", "-"),)
            kind = scalar_type(field.annotation)
            if kind is not None:
                out[name] = FlagSpec(name, flags, kind, False, field)
            elif flag is not None and _is_str_list(field.annotation):
                out[name] = FlagSpec(name, flags, str, True, field)
        return out

    @classmethod
    def flag_of(cls, name: str) -> str:
        """The flag a user types for setting ``name`` (the name itself for a file-only setting)."""
        spec = cls.flag_specs().get(name)
        return spec.flags[0] if spec is not None else name

    @classmethod
    def load(cls, file: str | Path | Mapping | None = None, /, **given: Any) -> Self:
        """The defaults, then ``file`` (a YAML or JSON mapping, or a mapping), then ``given`` (``None``: not given).

        A bad value is one ``InputError``: naming the file and key when it came from the file, else its flag.
        """
        values: dict[str, Any]
        source: str | None = None
        if file is None:
            values = {}
        elif isinstance(file, Mapping):
            values = dict(file)
        else:
            from classit_data.core.io import read_yaml_mapping

            source = str(file)
            values = read_yaml_mapping(file, "settings file", "setting names to values")
        given = {k: v for k, v in given.items() if v is not None}
        from_file = set(values) - set(given)  # a bad value of these is blamed on the file, the rest on a flag
        values.update(given)
        try:
            return cls(**values)
        except ValidationError as exc:
            raise cls._one_line(exc, source, from_file) from None

    @classmethod
    def _one_line(cls, exc: ValidationError, source: str | None, from_file: set[str]) -> InputError:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        if not loc:  # a model validator: its message is the reason, worded for the user
            error = (err.get("ctx") or {}).get("error")
            return InputError(str(error) if error is not None else err["msg"])
        name = loc[0]
        what = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        if source is not None and name in from_file:
            return InputError(f"{'.'.join(loc)}: {what}", source)
        if err["type"] == "extra_forbidden":
            return InputError(f"unknown setting {'.'.join(loc)}")
        shown = f" {err['input']!r}" if len(loc) == 1 and isinstance(err.get("input"), (int, float, str)) else ""
        return InputError(f"{cls.flag_of(name)}{shown}: {what}")
