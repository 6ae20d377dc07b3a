"""Session 63 audit of documentation drift: architecture.md's layer table read as the code imports (each layer only
from those below it), each of its rows one Markdown line, and every `tests/X.py::name` the docs cite a test that
exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "src" / "swapnas"
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _layer_table() -> dict[str, int]:
    """architecture.md's layer table: top-level module or package name -> layer number (modules column only)."""
    layers: dict[str, int] = {}
    text = re.sub(r"(\n\| \d [^\n]*[^|\n])\n", r"\1 ", (REPO / "docs/architecture.md").read_text(encoding="utf-8"))
    for line in text.splitlines():  # (a row split over two lines, as layer 1's, is read joined)
        m = re.match(r"\| (\d) \w+ \| (.*?) \| [^|]* \|$", line)
        if not m:
            continue
        for name in re.findall(r"(?<!out of )`([A-Za-z_]+)(?:\.py|/)`", m.group(2)):  # ("out of `session.py`")
            if (PKG / f"{name}.py").is_file() or (PKG / name).is_dir():
                # a name may also be a subpackage's file (train/data.py, train/rng.py): the top-level module's row is
                # the lowest that names it
                layers[name] = min(layers.get(name, 9), int(m.group(1)))
    return layers


def test_architecture_md_layers_import_only_from_below() -> None:
    """docs/architecture.md "Layers (each imports only from layers below it)": stops.py (layer 1) imported
    address_space.py (then in layer 3) and code_changes.py (layer 4) store_tools.py (layer 5)."""
    layers = _layer_table()
    assert len(layers) > 40  # the table was read
    upward = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).parts
        me = rel[0][:-3] if rel[0].endswith(".py") else rel[0]
        if me not in layers:
            continue
        depth = len(rel) - 1  # 0: a top-level module, 1: inside a subpackage
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.level >= 1) or node.level - 1 != depth:
                continue  # only imports that reach the package's top level
            targets = [(node.module or "").split(".")[0]] if node.module else [a.name for a in node.names]
            upward += [f"{'/'.join(rel)} (layer {layers[me]}) imports {t} (layer {layers[t]})"
                       for t in targets if t in layers and layers[t] > layers[me]]
    assert upward == []


def test_architecture_md_layer_rows_are_one_line_each() -> None:
    """The layer-1 row was split over two lines (4f0b027 to session 63): Markdown ended the row at "a name or arch"
    and rendered the rest as a row of its own without a layer."""
    lines = (REPO / "docs/architecture.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("| layer | modules | job |")
    table = []
    for line in lines[start:]:
        if not line.strip():
            break
        table.append(line)
    assert [ln[:60] for ln in table if not (ln.startswith("|") and ln.rstrip().endswith("|"))] == []


def test_every_documented_test_name_exists() -> None:
    """`tests/X.py::name` references in the docs name tests that exist (reliability.md cited one renamed in
    c47a62c)."""
    missing = []
    for doc in DOCS:
        for m in re.finditer(r"(tests/[\w/]+\.py)::(test_\w+)", doc.read_text(encoding="utf-8")):
            src = REPO / m.group(1)
            if not src.is_file() or not re.search(rf"def {m.group(2)}\b", src.read_text(encoding="utf-8")):
                missing.append(f"{doc.name}: {m.group(0)}")
    assert missing == []
