"""``classit-data``: a thin typer layer over the Python API; every command's work lives in its module.

User mistakes raise ``InputError`` and come out as one line on stderr with exit code 2.
"""

from __future__ import annotations

import sys

import typer

from classit_data.console import console
from classit_data.errors import InputError

app = typer.Typer(
    name="classit-data",
    help="Make, check and publish the CLASS-IT instruction dataset.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Make, check and publish the CLASS-IT instruction dataset."""


# --- convert-switchboard (issue 2) ---------------------------------------------------------------

# --- prepare-wiki (issue 3) ------------------------------------------------------------------------

# --- generate-wiki (issue 4) -----------------------------------------------------------------------

# --- validate, stats (issue 5) ---------------------------------------------------------------------

# --- build, push (issue 6) -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: runs the app and turns user errors into one line and exit code 2."""
    try:
        app(args=argv, prog_name="classit-data", standalone_mode=True)
    except InputError as exc:
        console.print(f"error: {exc.one_line()}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
