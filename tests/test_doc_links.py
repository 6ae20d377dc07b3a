"""Every relative link in README.md and docs/ reaches its file and, for a Markdown file, its heading (session 49: 247
links, none broken; nothing checked them before). Headings become anchors as GitHub makes them: lower case, every
character but letters, digits, ``-``, ``_`` and spaces dropped, spaces made hyphens, a repeated heading suffixed
``-1``, ``-2``, …; code blocks hold no headings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCED = re.compile(r"```.*?```", flags=re.DOTALL)


def slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for m in re.finditer(r"^#+\s+(.*)$", FENCED.sub("", text), flags=re.MULTILINE):
        s = slug(m.group(1))
        out.add(f"{s}-{seen[s]}" if s in seen else s)
        seen[s] = seen.get(s, 0) + 1
    return out


def broken_links(files: list[Path]) -> tuple[int, list[str]]:
    """(links read, ``file: target (why)`` for each relative link that reaches no file or no heading)."""
    n, bad = 0, []
    for f in files:
        for m in re.finditer(r"\]\(([^)\s]+)\)", FENCED.sub("", f.read_text(encoding="utf-8"))):
            target = m.group(1)
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            n += 1
            path, _, anchor = target.partition("#")
            dest = (f.parent / path).resolve() if path else f.resolve()
            if not dest.exists():
                bad.append(f"{f.name}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text(encoding="utf-8")):
                bad.append(f"{f.name}: {target} (no such heading)")
    return n, bad


@pytest.mark.parametrize("heading, want", [
    ("Quick start", "quick-start"),
    ("NB201 with the paper's fitness (`--fitness swap_reg`): 10 seeds",
     "nb201-with-the-papers-fitness---fitness-swap_reg-10-seeds"),
    ("L-SWAG beside `best` (session 12)", "l-swag-beside-best-session-12"),
    ("The recommended fitness `best` on this space: ln SWAP + 2 · ln(trainable tensors)",
     "the-recommended-fitness-best-on-this-space-ln-swap--2--lntrainable-tensors"),
    ("Spearman ρ and τ", "spearman-ρ-and-τ"),
])
def test_slug_is_githubs(heading: str, want: str) -> None:
    assert slug(heading) == want


def test_repeated_headings_are_numbered_and_code_blocks_hold_none() -> None:
    text = "# A\n## Setup\n```bash\n# not a heading\n```\n### Setup\n## Setup\n"
    assert anchors(text) == {"a", "setup", "setup-1", "setup-2"}


def test_a_link_to_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# Here\n")
    (tmp_path / "a.md").write_text("[ok](b.md#here) [self](#top) [gone](c.md) [no](b.md#there) "
                                   "[web](https://x.org/#y)\n# Top\n```\n[code](nowhere.md)\n```\n")
    assert broken_links([tmp_path / "a.md"]) == (4, ["a.md: c.md (no such file)", "a.md: b.md#there (no such heading)"])


def test_every_relative_link_of_the_docs_reaches_its_file_and_heading() -> None:
    n, bad = broken_links([ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))])
    assert n > 200  # the docs link to each other: a broken reader finds none
    assert not bad, "\n".join(bad)
