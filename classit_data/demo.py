"""``make demo``: run the pipeline on the bundled samples with the embedded defaults.

For now it converts the bundled Switchboard sample (``samples/switchboard_sample.train``, BabyLM format,
text written for this project) into ``out/switchboard.parquet`` and prints the summary.
"""

from __future__ import annotations

import sys
from pathlib import Path

from classit_data.console import console, summary_table
from classit_data.errors import InputError
from classit_data.resources import resource_path

OUT_DIR = Path("out")


def main() -> int:
    from classit_data.switchboard import convert_switchboard, summary_rows

    try:
        summary = convert_switchboard([resource_path("samples", "switchboard_sample.train")],
                                      OUT_DIR / "switchboard.parquet")
    except InputError as exc:
        console.print(f"error: {exc.one_line()}", style="red", markup=False)
        return 2
    console.print(summary_table(f"Switchboard sample -> {summary['out']}", summary_rows(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
