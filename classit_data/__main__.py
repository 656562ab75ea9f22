import sys

from classit_data.cli import main

sys.exit(main())
