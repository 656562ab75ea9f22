import sys

from classit_train.cli import main

sys.exit(main())
