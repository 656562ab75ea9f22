"""``classit-train``: a thin typer layer over the training and evaluation API."""

from __future__ import annotations

import sys

import typer

from classit_data.console import console
from classit_data.errors import InputError

app = typer.Typer(
    name="classit-train",
    help="Pretrain, instruction-tune and evaluate BabyLM-sized models on CLASS-IT.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Pretrain, instruction-tune and evaluate BabyLM-sized models on CLASS-IT."""


# --- tokenizer, pretrain, run (issue 7) ------------------------------------------------------------

# --- eval, report (issue 8) ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    try:
        app(args=argv, prog_name="classit-train", standalone_mode=True)
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
