"""``python -m classit_data`` and the ``classit-data`` console script (``classit-train`` starts here too)."""

import importlib
import sys

from classit_data.core.signals import interruptible


def start(cli: str) -> int:
    """Run the module ``cli``'s ``main``; a Ctrl-C is one line from this first moment, while its modules load."""
    interruptible()
    return importlib.import_module(cli).main()


def main() -> int:
    return start("classit_data.cli")


if __name__ == "__main__":
    sys.exit(main())
