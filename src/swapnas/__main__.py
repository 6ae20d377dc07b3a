"""``python -m swapnas``: the ``swapnas`` command."""

import sys

from .cli import main

sys.exit(main())
