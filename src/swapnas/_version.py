"""The package version (one place; read by swapnas.__version__, the CLI and every output's provenance)."""

__version__ = "0.1.0"
