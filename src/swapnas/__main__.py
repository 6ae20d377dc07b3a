"""``python -m swapnas``: the ``swapnas`` command."""

import sys

from .cli import command

if __name__ == "__main__":  # guarded: spawned worker processes import this module too
    sys.exit(command())
