import sys

from classit_data.core.signals import interruptible

interruptible()  # before the command's modules load: a Ctrl-C now is one line too

from classit_data.cli import main  # noqa: E402

sys.exit(main())
