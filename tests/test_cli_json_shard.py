"""``--json`` means one JSON document on stdout, also for a ``--shard`` run; the recorded command reruns.

Before session 16 a shard printed its plain-text line under ``--json`` (``json.loads`` failed), and the
provenance command joined arguments unquoted (``--out /tmp/a b``) and named ``__main__.py`` for ``python -m``.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from swapnas.cli import main
from swapnas.results import command_line


def test_correlate_shard_with_json_prints_one_json_document(small_bundle: Path, tmp_path: Path, capsys) -> None:
    store = tmp_path / "s.sqlite"
    rc = main(["correlate", "--space", "nb301", "--proxies", "params", "--archs", "6", "--batch-size", "8",
               "--data-dir", str(small_bundle), "--store", str(store), "--out", str(tmp_path / "o"),
               "--shard", "0/2", "--json", "--no-progress"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"shard": [0, 2], "archs": 3, "failed_scores": 0, "store": str(store)}


def test_the_recorded_command_is_the_one_a_shell_reruns(monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/env/lib/site-packages/swapnas/__main__.py", "correlate", "--out", "/tmp/a b"])
    assert command_line() == "python -m swapnas correlate --out '/tmp/a b'"
    assert shlex.split(command_line())[-1] == "/tmp/a b"
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/swapnas", "grid", "--proxies", "swap"])
    assert command_line() == "swapnas grid --proxies swap"
