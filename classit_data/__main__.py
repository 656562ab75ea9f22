"""``python -m classit_data`` and the ``classit-data`` console script: a Ctrl-C is one line from the first
moment, while the command's modules still load."""

import sys

from classit_data.core.signals import interruptible


def main() -> int:
    interruptible()
    from classit_data.cli import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
