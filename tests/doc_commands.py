"""Commands the docs name, read out of the Markdown: the check behind tests/test_doc_commands.py.

Every figure in README.md and docs/ names the command that made it, so a renamed flag or a
moved script silently breaks the docs. This module finds every command line in fenced and
indented code blocks and in inline code spans, and checks it against the code as it is now:

* ``swapnas …`` / ``python -m swapnas …``: parsed by the CLI's own parser (``build_parser``);
  a template (one with ``…``, ``<…>`` or a lone placeholder word such as ``D``) only has its
  ``--flags`` checked against the subcommand's options.
* ``python scripts/X.py …`` / ``python perf/X.py …``: the file exists and every ``--flag`` is an
  option string of it (a literal ``"--flag"`` in the script or in a module of its folder it imports).
* ``bash scripts/X.sh`` / ``bash perf/X.sh``: the file exists and every ``NAME=`` set before it
  is read by the script.

And every ``swapnas`` import of scripts/ and perf/ must name what the package has (:func:`stale_imports`).

Run as ``python tests/doc_commands.py`` for the list of commands that fail, with where they stand.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STARTS = ("swapnas ", "python -m swapnas ", "python scripts/", "python perf/", "bash scripts/", "bash perf/")
_ENV = re.compile(r"[A-Z_][A-Z0-9_]*=\S*")
_WRAPPERS = {"time", "nohup", "setsid", "("}
_PLACEHOLDER = re.compile(r"(?:[A-Z]{1,2}|[A-Z][A-Z_]+|\S*<[^>]*>\S*|\S*…\S*|\S*\.\.\.\S*|\S*\{[^}]*\}\S*|\S*\$\S*)")


@dataclass(frozen=True)
class DocCommand:
    """One command line as the doc gives it: where it stands, the env assignments before it, its words."""

    doc: str
    line: int
    inline: bool  # an inline code span (prose may elide required arguments) or a code block
    env: tuple[str, ...]
    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join((*self.env, *self.words))


def doc_files(root: Path = ROOT) -> list[Path]:
    """README.md and every Markdown file under docs/."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def _snippets(text: str) -> list[tuple[int, str, bool]]:
    """(line, text, inline) of every code block (fenced or indented four spaces) and inline code span."""
    out: list[tuple[int, str, bool]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].lstrip().startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].lstrip().startswith("```"):
                j += 1
            out.append((i + 2, "\n".join(lines[i + 1:j]), False))
            i = j + 1
            continue
        if lines[i].startswith("    ") and lines[i].strip() and (i == 0 or not lines[i - 1].strip()):
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                j += 1
            out.append((i + 1, "\n".join(line[4:] for line in lines[i:j]), False))
            i = j
            continue
        i += 1
    prose = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)
    for m in re.finditer(r"`([^`]+)`", prose):  # a span may cross a line break, not a blank line
        if "\n\n" not in m.group(1):
            out.append((prose.count("\n", 0, m.start()) + 1, m.group(1).replace("\n", " "), True))
    return out


def _commands_in(snippet: str) -> list[tuple[int, str]]:
    """(line offset, command text) of each command in a snippet: continuations joined, split at ``&&``,
    ``;``, ``|`` and ``&``, comments dropped."""
    joined: list[tuple[int, str]] = []
    buf, start = "", 0
    for k, raw in enumerate(snippet.split("\n")):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()  # a comment (a shebang too) dropped
        if not buf:
            start = k
        buf += (" " if buf else "") + line.rstrip("\\")
        if not line.endswith("\\"):
            joined.append((start, buf))
            buf = ""
    if buf:  # the snippet ends inside a continuation
        joined.append((start, buf))
    out = []
    for k, line in joined:
        for part in _split_unquoted(line):
            part = " ".join(part.split())
            if part:
                out.append((k, part))
    return out


_SEPARATOR = re.compile(r"&&|\|\||;|(?<![<>&])\|(?!\|)|(?<![>&])&(?![&>])")


def _split_unquoted(line: str) -> list[str]:
    """``line`` cut at ``&&``, ``||``, ``;``, ``|`` and ``&`` outside quotes (a quoted ``"a|b"`` or ``"x=1;y=2"`` is one
    argument of a script, not two commands; ``>&`` and ``&>`` redirect)."""
    quoted, quote, escaped = [False] * len(line), "", False
    for i, ch in enumerate(line):
        if escaped:
            escaped, quoted[i] = False, True
        elif ch == "\\" and quote != "'":
            escaped, quoted[i] = True, bool(quote)
        elif quote:
            quoted[i] = True
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
    parts, start = [], 0
    for m in _SEPARATOR.finditer(line):
        if not quoted[m.start()]:
            parts.append(line[start:m.start()])
            start = m.end()
    return [*parts, line[start:]]


def _split(text: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(env assignments, words from the command on) of a command text, or None if it runs none of ours."""
    try:
        words = shlex.split(text)
    except ValueError:  # an unbalanced quote: prose, not a command
        return None
    env: list[str] = []
    while words and (words[0] in _WRAPPERS or words[0] == "nice" or _ENV.fullmatch(words[0])):
        if _ENV.fullmatch(words[0]):
            env.append(words[0])
        skip = 3 if words[:2] == ["nice", "-n"] else 1  # nice -n 19 CMD
        words = words[skip:]
    words = [w for w in words if w != ")"]
    line = " ".join(words) + " "
    if not line.startswith(STARTS) or re.search("[\u2500-\u257f]", line):  # box drawing: a diagram
        return None
    return tuple(env), tuple(words)


def doc_commands(root: Path = ROOT) -> list[DocCommand]:
    """Every command of ours that the docs give, in order of appearance, each once per place."""
    found: list[DocCommand] = []
    for path in doc_files(root):
        rel = str(path.relative_to(root))
        for line, snippet, inline in _snippets(path.read_text(encoding="utf-8")):
            for k, text in _commands_in(snippet):
                split = _split(text)
                if split is not None:
                    found.append(DocCommand(rel, line + k, inline, *split))
    return found


def shell_commands(root: Path = ROOT) -> list[DocCommand]:
    """Every command of ours that the shell scripts of scripts/ and perf/ run (the runs behind documented figures):
    from the first word that starts one (``swapnas``, ``python -m swapnas``, ``python|bash scripts/…|perf/…``), so
    that a wrapper such as ``run NAME swapnas …`` or ``nice -n 19`` is skipped; ``$VAR`` words make it a template."""
    found: list[DocCommand] = []
    for path in sorted([*(root / "scripts").glob("*.sh"), *(root / "perf").glob("*.sh")]):
        for k, text in _commands_in(path.read_text(encoding="utf-8")):
            try:
                words = shlex.split(text)
            except ValueError:  # an unbalanced quote inside $( … ): not one of ours
                continue
            for i, w in enumerate(words):
                if _split(" ".join(shlex.quote(x) for x in words[i:])) is not None and (
                        w in ("swapnas", "python", "bash")):
                    env = tuple(x for x in words[:i] if _ENV.fullmatch(x))
                    found.append(DocCommand(str(path.relative_to(root)), k + 1, False, env, tuple(words[i:])))
                    break
    return found


def is_template(words: tuple[str, ...]) -> bool:
    """A command with placeholders (``D``, ``<set>``, ``…``, ``{a,b}``) instead of real values."""
    return any(_PLACEHOLDER.fullmatch(w) for w in words[1:] if not w.startswith("-"))


def _flags(words: tuple[str, ...]) -> list[str]:
    return [w.split("=", 1)[0] for w in words if re.fullmatch(r"--[a-z][a-z0-9-]*(=.*)?", w)]


def _subparser(parser: argparse.ArgumentParser, words: list[str]) -> argparse.ArgumentParser:
    """The (sub)parser that the leading subcommand words select."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and words and words[0] in action.choices:
            return _subparser(action.choices[words[0]], words[1:])
    return parser


@functools.lru_cache(maxsize=1)
def _parser() -> argparse.ArgumentParser:
    from swapnas.cli import build_parser

    return build_parser()


def _known_flags(parser: argparse.ArgumentParser, args: list[str]) -> str | None:
    """None if every ``--flag`` in ``args`` is an option of the subcommand they select."""
    unknown = [f for f in _flags(("swapnas", *args)) if f not in _subparser(parser, args)._option_string_actions]
    return f"unknown option(s) {', '.join(unknown)}" if unknown else None


def _unknown_proxies(ns: argparse.Namespace) -> str | None:
    """None if every name in ``--proxies`` and ``--fitness`` is a registered proxy (or ``best`` / ``all``)."""
    from swapnas.proxies import get_proxy

    names = [n.strip() for n in (getattr(ns, "proxies", None) or "").split(",") if n.strip()]
    names += [ns.fitness] if isinstance(getattr(ns, "fitness", None), str) else []
    unknown = []
    for name in names:
        try:
            get_proxy(name) if name not in ("best", "all") else None
        except (KeyError, ValueError):
            unknown.append(name)
    return f"unknown proxy name(s) {', '.join(unknown)}" if unknown else None


def _unbuildable_net(ns: argparse.Namespace) -> str | None:
    """None unless ``--net`` / ``--refine-net`` name options the space's network cannot be built with."""
    from swapnas.benchmarks import BENCHMARKS, benchmark_class
    from swapnas.session import check_net
    from swapnas.spaces import get_space

    space = getattr(ns, "space", None)
    if not isinstance(space, str):
        return None
    space = benchmark_class(space).space if space in BENCHMARKS else space
    for flag, given in (("--net", getattr(ns, "net", None)), ("--refine-net", getattr(ns, "refine_net", None))):
        if given:
            try:
                check_net(space, {**get_space(space).SCORING_DEFAULTS["net"], **given}, given, flag)
            except ValueError as exc:
                return str(exc)
    return None


def check_cli(words: tuple[str, ...], fragment: bool = False) -> str | None:
    """None if the CLI takes ``words`` (after ``swapnas``), else what it said. A template only has its
    flags checked; so has a ``fragment`` (a mention in prose) that leaves out required arguments or the
    value of its last option."""
    parser = _parser()
    args = list(words)
    if is_template(("swapnas", *args)):
        return _known_flags(parser, args)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            ns = parser.parse_args(args)
    except SystemExit as exc:
        if exc.code in (0, None):  # --help
            return None
        said = err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else f"exit {exc.code}"
        elided = "arguments are required" in said or (args and args[-1].startswith("--")
                                                      and ": expected one argument" in said)
        return _known_flags(parser, args) if fragment and elided else said
    return _unknown_proxies(ns) or _unbuildable_net(ns)


def _script_sources(path: Path) -> str:
    """The script's text and that of every module of its folder it imports."""
    text = path.read_text(encoding="utf-8")
    for name in set(re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", text, flags=re.MULTILINE)):
        sibling = path.parent / f"{name}.py"
        if sibling.exists() and sibling != path:
            text += sibling.read_text(encoding="utf-8")
    return text


def check_command(cmd: DocCommand, root: Path = ROOT) -> str | None:
    """None if the code takes the command: the CLI parses it, or the script exists and takes every
    flag (and reads every env name) the doc gives it."""
    env, words = cmd.env, cmd.words
    if words[0] == "python" and words[1:3] == ("-m", "swapnas"):
        return check_cli(words[3:], cmd.inline)
    if words[0] == "swapnas":
        return check_cli(words[1:], cmd.inline)
    path = root / words[1]
    if _PLACEHOLDER.fullmatch(path.stem):  # scripts/X.py: a template for any script
        return None
    if not path.is_file():
        return f"no file {words[1]}"
    source = _script_sources(path)
    if words[0] == "bash":
        unread = [e.split("=", 1)[0] for e in env if e.split("=", 1)[0] not in source
                  and e.split("=", 1)[0] not in ("OMP_NUM_THREADS", "SWAPNAS_DATA", "PYTHONPATH")]
        return f"{words[1]} does not read {', '.join(unread)}" if unread else None
    unknown = [f for f in _flags(words) if f'"{f}"' not in source and f"'{f}'" not in source]
    return f"{words[1]} has no option {', '.join(unknown)}" if unknown else None


def stale_imports(root: Path = ROOT) -> list[str]:
    """``file:line: what`` for each ``from swapnas… import name`` / ``import swapnas…`` in scripts/ and perf/
    that the package no longer has (a script the docs name would fail at its first line)."""
    import ast
    import importlib

    out = []
    for path in sorted([*(root / "scripts").glob("*.py"), *(root / "perf").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("swapnas"):
                wanted = [(node.module or "", a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                wanted = [(a.name, "") for a in node.names if a.name.startswith("swapnas")]
            else:
                continue
            for module, name in wanted:
                try:
                    mod = importlib.import_module(module)
                    if name and name != "*" and not hasattr(mod, name):
                        importlib.import_module(f"{module}.{name}")  # a submodule not yet imported
                except ImportError as exc:
                    out.append(f"{path.relative_to(root)}:{node.lineno}: {exc}")
    return out


def failures(root: Path = ROOT) -> list[tuple[DocCommand, str]]:
    """Every documented command (and every command of ours in a shell script) the code no longer takes, with why."""
    out = []
    for cmd in [*doc_commands(root), *shell_commands(root)]:
        why = check_command(cmd, root)
        if why:
            out.append((cmd, why))
    return out


if __name__ == "__main__":
    cmds = doc_commands()
    bad = failures()
    for cmd, why in bad:
        print(f"{cmd.doc}:{cmd.line}: {why}\n    {cmd.text[:300]}")
    print(f"{len(bad)} of {len(cmds)} documented commands and {len(shell_commands())} commands in shell scripts fail")
    stale = stale_imports()
    print("\n".join(stale))
    print(f"{len(stale)} stale imports of swapnas in scripts/ and perf/")
