"""``python -m classit_train`` and the ``classit-train`` console script, started as ``classit_data.__main__``."""

import sys

from classit_data.__main__ import start


def main() -> int:
    return start("classit_train.cli")


if __name__ == "__main__":
    sys.exit(main())
