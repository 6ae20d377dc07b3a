"""``python -m swapnas.cli``: the ``swapnas`` command."""

import sys

from . import command

if __name__ == "__main__":  # guarded: spawned worker processes import this module too
    sys.exit(command())
