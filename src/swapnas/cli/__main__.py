"""``python -m swapnas.cli``: the ``swapnas`` command."""

import sys

from . import main

sys.exit(main())
