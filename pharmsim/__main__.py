"""``python -m pharmsim``: the same command as the ``pharmsim`` console script (see :mod:`pharmsim.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
