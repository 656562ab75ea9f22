"""One exception type for every mistake a user can make, so the CLI can print one line and exit non-zero."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A problem with the user's input: a file, a place in it, and what is wrong.

    The CLI prints ``error: FILE:PLACE: message`` and exits with code 2; it never shows a traceback for these.
    """

    def __init__(self, message: str, path: str | Path | None = None, where: str | int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.where = where
        super().__init__(self.one_line())

    def one_line(self) -> str:
        loc = ""
        if self.path is not None:
            loc = self.path
            if self.where is not None:
                loc += f":{self.where}" if isinstance(self.where, int) else f" ({self.where})"
            loc += ": "
        return f"{loc}{self.message}"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): what a user is shown."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def flag_of(model_cls: type, name: str) -> str:
    """The command-line flag of a setting: its own ``flags`` if it names them, else ``--max-passages`` style."""
    field = getattr(model_cls, "model_fields", {}).get(name)
    extra = field.json_schema_extra if field is not None and isinstance(field.json_schema_extra, dict) else {}
    if extra.get("cli", True) is False:  # set in a settings file only: no flag to name
        return name
    flags = extra.get("flags")
    return flags[0] if flags else "--" + name.replace("_", "-")


def checked_settings(model_cls: type, values: dict, *, file: str | Path | None = None, from_file=()):
    """``model_cls(**values)``, a pydantic settings model; a bad value is one ``InputError`` naming its flag.

    ``from_file``: the keys whose values came from the settings file ``file`` (and not from a flag); a bad one
    is blamed on that file, by its key, instead of on a flag.
    """
    from pydantic import ValidationError

    try:
        return model_cls(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        if not loc:  # a model validator: its message is the reason, worded for the user
            error = (err.get("ctx") or {}).get("error")
            raise InputError(str(error) if error is not None else err["msg"]) from exc
        name = loc[0]
        what = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        if file is not None and name in from_file:
            raise InputError(f"{'.'.join(loc)}: {what}", file) from exc
        if err["type"] == "extra_forbidden":
            raise InputError(f"unknown setting {'.'.join(loc)}") from exc
        shown = f" {err['input']!r}" if len(loc) == 1 and isinstance(err.get("input"), (int, float, str)) else ""
        raise InputError(f"{flag_of(model_cls, name)}{shown}: {what}") from exc
