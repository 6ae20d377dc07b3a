"""Do the code digests that stores record agree between Python versions? Each interpreter given digests every module
under ``src/swapnas`` (docstrings left out, as for a space's network code) in the two forms: ``ast.unparse``'s text,
which stores recorded until session 62, and :func:`swapnas.proxies.code.canonical`, since. Prints, for each
interpreter against the first, how many modules' digests differ in each form, and exits 1 if any digest in the
canonical form differs.

Only ``swapnas/proxies/code.py`` is loaded (by its path: it needs nothing beyond the standard library), so the
interpreters need neither torch nor swapnas installed.

    python scripts/digest_versions.py /root/.pyenv/versions/3.10.13/bin/python /root/.pyenv/versions/3.12.1/bin/python
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "swapnas"


def digests(src: Path = SRC) -> dict[str, dict[str, str]]:
    """Each module's digests under this interpreter: {path under src: {"unparse": …, "canonical": …}}."""
    spec = importlib.util.spec_from_file_location("_digest_code", src / "proxies" / "code.py")
    assert spec is not None and spec.loader is not None
    code = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(code)
    out = {}
    for path in sorted(src.rglob("*.py")):
        forms = {}
        for name, form in (("unparse", ast.unparse), ("canonical", code.canonical)):
            tree = code._without_docstrings(ast.parse(path.read_text(encoding="utf-8")))
            forms[name] = code._sha16(form(tree))
        out[str(path.relative_to(src))] = forms
    return out


def compare(runs: dict[str, dict[str, dict[str, str]]]) -> tuple[list[str], bool]:
    """Lines comparing each interpreter's digests with the first's; True when every canonical digest agrees."""
    (first, base), *others = runs.items()
    lines, agree = [f"{len(base)} modules; digests against {first}:"], True
    for name, theirs in others:
        differ = {form: sorted(m for m in base if base[m][form] != theirs.get(m, {}).get(form))
                  for form in ("unparse", "canonical")}
        agree = agree and not differ["canonical"]
        lines.append(f"  {name}: unparse (until session 62) {len(differ['unparse'])} differ, "
                     f"canonical (since) {len(differ['canonical'])} differ"
                     + (f": {', '.join(differ['canonical'][:5])}" if differ["canonical"] else ""))
    return lines, agree


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("python", nargs="*", help="interpreters to compare (default: this one)")
    ap.add_argument("--one", action="store_true", help="print this interpreter's digests as JSON (each child's job)")
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps({"version": sys.version.split()[0], "digests": digests()}))
        return 0
    runs = {}
    for python in args.python or [sys.executable]:
        done = subprocess.run([python, __file__, "--one"], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{python} failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return 2
        got = json.loads(done.stdout)
        runs[f"Python {got['version']} ({python})"] = got["digests"]
    lines, agree = compare(runs)
    print("\n".join(lines))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
