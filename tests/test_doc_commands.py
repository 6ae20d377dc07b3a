"""Every command README.md and docs/ give still runs against the code as it is (tests/doc_commands.py):
the CLI parses it, its proxies exist, its script exists and takes its flags. First the checker itself
on small Markdown files whose right answers are known, then the repository's own docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import doc_commands as dc


def _docs(tmp_path: Path, text: str, scripts: dict[str, str] | None = None) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("# x\n")
    (tmp_path / "docs" / "a.md").write_text(text)
    for name, body in (scripts or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    return tmp_path


def test_commands_are_found_in_fenced_and_indented_blocks_and_inline_spans(tmp_path) -> None:
    root = _docs(tmp_path, (
        "Intro with `swapnas proxies` inline and a span that crosses a line: (`swapnas correlate --space nb201\n"
        "--dataset cifar10 --proxies swap --out runs/x`).\n\n"
        "```bash\n"
        "# a comment line\n"
        "OMP_NUM_THREADS=1 time swapnas search --space nb201 --dataset cifar10 \\\n"
        "    --out runs/s  # trailing comment\n"
        "pip install -e . && python scripts/t.py --fast | tail -3\n"
        "nice -n 19 bash scripts/r.sh DATA\n"
        "```\n\n"
        "    swapnas grid --out runs/g\n\n"
        "Prose `not a command` and `sqlite3 x.db`.\n"))
    found = [(c.line, c.inline, c.env, c.words) for c in dc.doc_commands(root)]
    assert found == [
        (6, False, ("OMP_NUM_THREADS=1",), ("swapnas", "search", "--space", "nb201", "--dataset", "cifar10", "--out",
                                            "runs/s")),
        (8, False, (), ("python", "scripts/t.py", "--fast")),
        (9, False, (), ("bash", "scripts/r.sh", "DATA")),
        (12, False, (), ("swapnas", "grid", "--out", "runs/g")),
        (1, True, (), ("swapnas", "proxies")),
        (1, True, (), ("swapnas", "correlate", "--space", "nb201", "--dataset", "cifar10", "--proxies", "swap",
                       "--out", "runs/x")),
    ]


def test_box_drawings_are_diagrams_not_commands(tmp_path) -> None:
    root = _docs(tmp_path, "```\nswapnas search ─ cli.commands.search ─ search.run_search ─┐\n```\n")
    assert dc.doc_commands(root) == []


@pytest.mark.parametrize("words, template", [
    (("swapnas", "correlate", "--dataset", "D"), True),
    (("swapnas", "correlate", "--out", "runs/<set>"), True),
    (("swapnas", "correlate", "--seed", "$s"), True),
    (("swapnas", "correlate", "--proxies", "swap", "…"), True),
    (("swapnas", "correlate", "--dataset", "cifar10", "--out", "runs/x"), False),
])
def test_placeholders_make_a_template(words, template) -> None:
    assert dc.is_template(words) is template


@pytest.mark.parametrize("text, why", [
    ("```\nswapnas correlate --space nb201 --dataset cifar10 --out x --no-such-flag\n```\n",
     "unrecognized arguments: --no-such-flag"),
    ("```\nswapnas correlate --space nb201 --dataset cifar10 --proxies swap,nope --out x\n```\n",
     "unknown proxy name(s) nope"),
    ("```\nswapnas search --space nb201 --fitness nope --out x\n```\n", "unknown proxy name(s) nope"),
    ("```\nswapnas correlate --space darts_swap --net C=8,cells=5 --out x\n```\n",
     "--net C=8,cells=5: the darts network cannot be built"),
    ("```\nswapnas search --space nb201 --refine 20 --refine-net N=0 --out x\n```\n",
     "--refine-net N=0: the nb201 network cannot be built"),
    ("```\nswapnas correlate --space nb201 --dataset D --no-such-flag 3\n```\n", "unknown option(s) --no-such-flag"),
    ("```\nswapnas correlate --space nb201\n```\n", "the following arguments are required: --out"),  # a block: whole
    ("`swapnas correlate --space nb201 --no-such-flag`\n", "unknown option(s) --no-such-flag"),
    ("```\nswapnas nocommand --x 1\n```\n", "invalid choice: 'nocommand'"),
    ("`python scripts/gone.py --a 1`\n", "no file scripts/gone.py"),
    ("`python scripts/t.py --fast --slow`\n", "scripts/t.py has no option --slow"),
    ("```\nSTEPS=full OTHER=1 bash scripts/r.sh D\n```\n", "scripts/r.sh does not read OTHER"),
])
def test_a_command_the_code_does_not_take_is_reported_with_why(tmp_path, text, why) -> None:
    root = _docs(tmp_path, text, {"scripts/t.py": 'ap.add_argument("--fast")\n',
                                  "scripts/r.sh": 'echo "${STEPS:-x}"\n'})
    bad = dc.failures(root)
    assert len(bad) == 1 and why in bad[0][1], bad


def test_what_the_code_does_take_passes(tmp_path) -> None:
    root = _docs(tmp_path, (
        "`swapnas correlate` and `swapnas search --space nb201 --max-macs` mentioned in prose: elided arguments.\n\n"
        "```\nswapnas correlate --space nb201 --dataset cifar10 --proxies swap,best --out x\n"
        "python -m swapnas proxies\nSTEPS=full bash scripts/r.sh D\npython scripts/t.py --fast --help-me\n"
        "bash scripts/X.sh\n```\n"),
        {"scripts/t.py": 'from helper import x\nap.add_argument("--fast")\n',
         "scripts/helper.py": "P.add_argument('--help-me')\n", "scripts/r.sh": 'echo "${STEPS:-x}"\n'})
    assert dc.failures(root) == []


def test_separators_inside_quotes_belong_to_an_argument(tmp_path) -> None:
    # until session 49 a quoted `|` or `;` (rho_table's "ROW|COLUMN=…", choose_fitness's --joint "a=0,1;b=0,1") cut
    # the command in two, and neither half was checked: 24 of the docs' commands were never read
    text = "```\npython scripts/t.py \"A|b=1\" --joint 'x=0,1;y=2' --fast | tail -3 && echo 'a;b'\n```\n"
    root = _docs(tmp_path, text)
    assert [c.words for c in dc.doc_commands(root)] == [("python", "scripts/t.py", "A|b=1", "--joint", "x=0,1;y=2",
                                                         "--fast")]
    assert [dc._split_unquoted(t) for t in ("a 2>&1 | b", "a &> log & b", "a \\; b", 'a "x\\"|y" || b')] == [
        ["a 2>&1 ", " b"], ["a &> log ", " b"], ["a \\; b"], ['a "x\\"|y" ', " b"]]


def test_the_commands_of_shell_scripts_are_found_after_their_wrappers_and_checked(tmp_path) -> None:
    root = _docs(tmp_path, "# x\n", {
        "scripts/t.py": 'ap.add_argument("--fast")\n',
        "scripts/a.sh": ('#!/usr/bin/env bash\nrun() { "$@"; }\n'
                         'run one swapnas correlate --space nb201 --bogus-flag --out "$OUT/x"\n'
                         'OMP_NUM_THREADS=1 nice -n 19 python scripts/t.py --fast \\\n  --slow "$A|b" > log 2>&1 &\n'
                         'echo "not ours; swapnas correlate --nope"\n')})
    found = [(c.doc, c.line, c.env, c.words[:3]) for c in dc.shell_commands(root)]
    assert found == [("scripts/a.sh", 3, (), ("swapnas", "correlate", "--space")),
                     ("scripts/a.sh", 4, ("OMP_NUM_THREADS=1",), ("python", "scripts/t.py", "--fast"))]
    assert [why for _, why in dc.failures(root)] == ["unknown option(s) --bogus-flag",
                                                     "scripts/t.py has no option --slow"]


def test_every_command_the_shell_scripts_run_is_taken_by_the_code() -> None:
    cmds = dc.shell_commands()
    assert len(cmds) > 40 and {c.doc for c in cmds} >= {"scripts/rerun_documented.sh", "scripts/nb201_anchor_runs.sh"}
    bad = [f"{c.doc}:{c.line}: {why}: {c.text[:200]}" for c in cmds if (why := dc.check_command(c))]
    assert not bad, "commands in shell scripts the code no longer takes:\n" + "\n".join(bad)


def test_every_command_the_docs_give_is_taken_by_the_code() -> None:
    cmds = dc.doc_commands()
    assert len(cmds) > 250  # the docs name their commands: a broken extractor finds none
    bad = [f"{c.doc}:{c.line}: {why}: {c.text[:200]}" for c, why in dc.failures()]
    assert not bad, "documented commands the code no longer takes:\n" + "\n".join(bad)


def test_a_script_importing_what_the_package_no_longer_has_is_found(tmp_path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "perf").mkdir()
    (tmp_path / "scripts" / "a.py").write_text("import os\nfrom swapnas.executors import make_executor, _gone\n")
    (tmp_path / "perf" / "b.py").write_text("import swapnas.no_such_module\nfrom swapnas import executor_local\n")
    assert dc.stale_imports(tmp_path) == [
        "perf/b.py:1: No module named 'swapnas.no_such_module'",
        "scripts/a.py:2: No module named 'swapnas.executors._gone'; 'swapnas.executors' is not a package"]


def test_scripts_and_perf_import_only_what_the_package_has() -> None:
    assert dc.stale_imports() == []


@pytest.mark.slow  # subprocesses (0.1 s in all)
def test_every_shell_script_parses() -> None:
    """`bash -n` on each shell script the docs and CI run: a broken quote or a missing `fi` shows here, not hours into
    a run (its commands are checked above; this reads the script as bash does)."""
    import subprocess

    scripts = sorted([*(dc.ROOT / "scripts").glob("*.sh"), *(dc.ROOT / "perf").glob("*.sh"), dc.ROOT / ".ci" / "run"])
    assert len(scripts) > 15
    bad = {str(p.relative_to(dc.ROOT)): r.stderr for p in scripts
           if (r := subprocess.run(["bash", "-n", str(p)], capture_output=True, text=True)).returncode != 0}
    assert not bad, bad
