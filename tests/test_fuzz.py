"""Property-based fuzzing (hypothesis) of every registered space's ``parse`` and of the CLI's argument types.

Each space's parser gets at least 10,000 generated strings of arbitrary text and 10,000 mutations of
valid arch strings (``str(sample(rng))`` and, where ``parse`` reads it, the NASLib key of the same
arch): inserted, deleted and replaced characters, swapped tokens, numbers made huge, negative or
non-ASCII. Every string must either parse -- and then ``str(a)`` is canonical: ``parse(str(a)) == a``
and ``str(parse(str(a))) == str(a) == a.key`` -- or raise ``ValueError`` whose message quotes the bad
part (the input, or a non-empty piece of it, as a repr). Any other exception fails the test.

Each CLI argument type (``swapnas.cli.args``) returns a valid value for its option or raises
``argparse.ArgumentTypeError`` on every text.

Runs are deterministic (``derandomize=True``: the same examples every run, no example database).
"""

from __future__ import annotations

import argparse
import ast
import math
import random
import re
import warnings
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from swapnas.cli import args as cli_args
from swapnas.spaces import SPACES, get_space

SPACE_NAMES = list(SPACES)
#: generated strings per (parser, strategy): >= 10,000 as the issue asks, in hypothesis examples of
#: BATCH strings each (one example's overhead, ~1.5 ms here, is what costs: 20 strings per example
#: make the whole file ~8x faster than one string per example)
PARSE_STRINGS = 10_000
CLI_STRINGS = 2_000
BATCH = 20
FUZZ = settings(max_examples=PARSE_STRINGS // BATCH, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
#: spaces whose parser's messages are known not to quote the bad part (fixed by the space's owner, not
#: here): name -> reason. Their exception types and round trips are still checked (``quote=False``).
UNQUOTED_MESSAGES: dict[str, str] = {}
#: per space in UNQUOTED_MESSAGES, an input that shows it (checked first, so the xfail never depends on luck)
UNQUOTED_EXAMPLES: dict[str, str] = {}

# ----------------------------------------------------------------------------- the property


_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")


def quotes_bad_part(message: str, text: str) -> bool:
    """Whether ``message`` holds the repr of ``text`` (or of ``text.strip()``), or a quoted string
    literal that is a non-empty piece of ``text``."""
    if repr(text) in message or repr(text.strip()) in message:
        return True
    for m in _QUOTED.finditer(message):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                piece = ast.literal_eval(m.group())
        except (ValueError, SyntaxError):
            continue
        if isinstance(piece, str) and piece.strip() and piece in text:
            return True
    return False


def check_parse(space, text: str, seen: Counter, keys: dict | None = None, quote: bool = True) -> None:
    """Parse ``text``: a canonical arch or a ValueError that quotes the bad part; nothing else.

    ``keys`` (arch -> its string, filled as archs are seen): equal archs must have one string (the
    store key), e.g. ``('skip_connect', True)`` and ``('skip_connect', 1)`` are one DARTS edge."""
    try:
        arch = space.parse(text)
    except ValueError as exc:
        seen["rejected"] += 1
        assert not quote or quotes_bad_part(str(exc), text), f"message does not quote the bad part of {text!r}: {exc}"
        return
    seen["parsed"] += 1
    canon = str(arch)
    again = space.parse(canon)
    assert again == arch, f"{text!r} parsed to {canon!r}, which parses to a different arch"
    assert str(again) == canon == arch.key, f"str() of {text!r} is not canonical: {canon!r} vs {str(again)!r}"
    if keys is not None:
        known = keys.setdefault(arch, canon)
        assert known == canon, f"{text!r} parsed to {canon!r}, an arch equal to {known!r}: two keys for one arch"


# ----------------------------------------------------------------------------- strategies


def valid_strings(name: str, n: int = 40) -> list[str]:
    """``n`` sampled arch strings of space ``name``, plus their NASLib keys where ``parse`` reads them."""
    space = get_space(name)
    out = []
    for seed in range(n):
        arch = space.sample(random.Random(seed))
        out.append(str(arch))
        to_naslib = getattr(space, "to_naslib", None)
        try:
            key = to_naslib(arch) if to_naslib else None
            if key is not None and space.parse(key) is not None:
                out.append(key)
        except ValueError:
            pass
    return sorted(set(out))


_NUMBER = re.compile(r"\d+")
_TOKEN = re.compile(r"\w+|[^\w\s]")
#: what a number in a valid string is replaced with: huge, negative, signed, non-ASCII digits, floats …
NUMBERS = ["-1", "-0", "+1", "0", "00", "007", "9" * 30, "1" * 5000, "-" + "9" * 25, "1e9", "1.0", "1_0",
           "٣", "²", "１", "0x1", " 1", "1 ", "nan", "inf", "True", "None", "()", "[]", "''"]
#: what is inserted or put in place of a character
PIECES = ["(", ")", "[", "]", "{", "}", ",", "|", "+", "~", "-", "_", ".", ":", "=", "'", '"', "\\", " ",
          "\n", "\t", "\x00", "x", "0", "1", "9", "é", "٣", "🙂", "((((((((", "[" * 200, "(" * 200, "{[]}",
          "range(0, 999999999999)", "__import__('os')", "lambda: 0", "1" * 5000, "\u200b", "\ud800", "-" * 3000,
          "+1" * 2000, "True", "False", "None", "1+2j", "0.0", "-0", "b'x'", "..."]


def mutated(valid: list[str]) -> st.SearchStrategy[str]:
    """A valid arch string after 1-4 seeded edits (:func:`mutate_text`). Hypothesis draws the string and
    the seed (two draws per string instead of ~10 keeps 10,000 strings cheap); a failure's message
    shows the mutated text itself."""
    return st.builds(mutate_text, st.sampled_from(valid), st.integers(0, 2**64 - 1))


EDITS = ("insert", "delete", "replace", "swap", "number", "truncate", "duplicate", "group", "group")
#: an innermost bracketed group: ``[2, 3, 4, 5]``, ``('skip_connect', 0)``, ``(1, 0, 2)``
_GROUP = re.compile(r"\[[^\[\]()]*\]|\([^\[\]()]*\)")
#: what a group is replaced with: values of the wrong type, unhashable, huge, deep or long
GROUP_PIECES = ["{[]}", "range(0, 999999999999)", "range(2, 6)", "[]", "()", "[" * 200 + "]" * 200,
                "-" * 3000 + "1", "True", "(True, 1)", "[[], []]", "1" * 5000, "None", "{1: 2}", "('x', 0, 1)",
                "('skip_connect', True)", "('max_pool_3x3', False)"]


def _random_piece(rng: random.Random) -> str:
    """A piece of ``PIECES`` or one character: ASCII, 2-byte, BMP (no surrogates) or astral."""
    if rng.random() < 0.5:
        return rng.choice(PIECES)
    lo, hi = rng.choice([(32, 127), (0, 32), (0x80, 0x800), (0x800, 0xD800), (0xE000, 0x110000)])
    return chr(rng.randrange(lo, hi))


def mutate_text(text: str, seed: int) -> str:
    """``text`` after 1-4 edits drawn from ``random.Random(seed)``: insert/delete/replace characters,
    swap two tokens, change a number (``NUMBERS``), truncate, duplicate a slice, or replace a bracketed
    group by a piece (``GROUP_PIECES``: ``{[]}``, ``range(0, 999999999999)``, deep nesting …)."""
    rng = random.Random(seed)
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(EDITS)
        pos = rng.randrange(len(text)) if text else 0
        if kind == "insert":
            text = text[:pos] + _random_piece(rng) + text[pos:]
        elif kind == "delete":
            text = text[:pos] + text[pos + rng.randint(1, 3):]
        elif kind == "replace":
            text = text[:pos] + _random_piece(rng) + text[pos + 1:]
        elif kind == "swap":
            text = _swap_tokens(text, rng.randrange(10_000), rng.randrange(10_000))
        elif kind == "number":
            text = _replace_match(_NUMBER, text, rng.randrange(10_000), rng.choice(NUMBERS))
        elif kind == "truncate":
            text = text[:pos]
        elif kind == "group":
            text = _replace_match(_GROUP, text, rng.randrange(10_000), rng.choice(GROUP_PIECES))
        else:
            end = rng.randint(pos, len(text))
            text = text[:end] + text[pos:end] + text[end:]
    return text


def _swap_tokens(text: str, i: int, j: int) -> str:
    spans = [m.span() for m in _TOKEN.finditer(text)]
    if len(spans) < 2:
        return text
    (a, b), (c, d) = sorted((spans[i % len(spans)], spans[j % len(spans)]))
    if (a, b) == (c, d):
        return text
    return text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]


def _replace_match(pattern: re.Pattern, text: str, i: int, new: str) -> str:
    """``text`` with its (i mod n)-th match of ``pattern`` replaced by ``new`` (unchanged without a match)."""
    spans = [m.span() for m in pattern.finditer(text)]
    if not spans:
        return text
    a, b = spans[i % len(spans)]
    return text[:a] + new + text[b:]


def arbitrary(valid: list[str]) -> st.SearchStrategy[str]:
    """Any text, and text over the characters the space's strings are made of."""
    alphabet = sorted(set("".join(valid)) | set("()[]{},|+~-_.:='\" \n0123456789"))
    return st.one_of(st.text(), st.text(alphabet=alphabet, max_size=120), st.text(alphabet=alphabet, min_size=20))


# ----------------------------------------------------------------------------- parse fuzzing


def _fuzz_parser(name: str, strategy_of: Callable[[list[str]], st.SearchStrategy[str]], quote: bool) -> Counter:
    space = get_space(name)
    valid = valid_strings(name)
    strategy = strategy_of(valid)
    seen: Counter = Counter()
    keys = {space.parse(v): str(space.parse(v)) for v in valid}
    phases = list(Phase)
    if quote and name in UNQUOTED_MESSAGES:  # a known failure (strict xfail): its example first, no shrinking
        check_parse(space, UNQUOTED_EXAMPLES[name], seen, keys, quote)
        phases = [Phase.generate]

    @settings(FUZZ, phases=phases)
    @given(texts=st.lists(strategy, min_size=BATCH, max_size=BATCH))
    def run(texts: list[str]) -> None:
        for text in texts:
            seen["strings"] += 1
            check_parse(space, text, seen, keys, quote)

    run()
    assert seen["strings"] >= PARSE_STRINGS, seen
    return seen


def _space_params() -> list:
    """One param per registered space; a space in UNQUOTED_MESSAGES twice: everything but the messages
    (exception types, round trips) as a normal test, and the messages as a strict xfail."""
    out = []
    for name in SPACE_NAMES:
        if name in UNQUOTED_MESSAGES:
            xfail = pytest.mark.xfail(strict=True, reason=UNQUOTED_MESSAGES[name])
            out += [pytest.param(name, False, id=f"{name}-types"), pytest.param(name, True, id=name, marks=xfail)]
        else:
            out.append(pytest.param(name, True, id=name))
    return out


@pytest.mark.slow  # 10,000 strings
@pytest.mark.parametrize(("name", "quote"), _space_params())
def test_parse_fuzz_arbitrary_text(name: str, quote: bool) -> None:
    _fuzz_parser(name, arbitrary, quote)


@pytest.mark.slow  # 10,000 strings
@pytest.mark.parametrize(("name", "quote"), _space_params())
def test_parse_fuzz_mutated_arch_strings(name: str, quote: bool) -> None:
    seen = _fuzz_parser(name, mutated, quote)
    assert seen["parsed"] and seen["rejected"], seen  # the mutations reach both outcomes


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_valid_strings_round_trip(name: str) -> None:
    seen: Counter = Counter()
    texts = valid_strings(name)
    for text in texts:
        check_parse(get_space(name), text, seen)
    # 40 seeded samples, fewer distinct ones in a small space (a new space of 36 archs failed here)
    assert seen["parsed"] >= min(40, len(texts)) and not seen["rejected"]


def test_quotes_bad_part() -> None:
    assert quotes_bad_part("bad arch 'x|y' here", " x|y ")
    assert quotes_bad_part("unknown op 'conv' in edge", "|conv~0|")
    assert not quotes_bad_part("has 3 modules", "64-123-basic")
    assert not quotes_bad_part("empty ''", "abc")


# ----------------------------------------------------------------------------- CLI argument types


def _finite(v: object) -> bool:
    return isinstance(v, float) and math.isfinite(v)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _net_value(v: object) -> bool:
    return isinstance(v, (bool, str)) or _is_int(v) or _finite(v)


#: argument type -> whether a returned value is valid for it
CLI_TYPES: dict[str, Callable[[object], bool]] = {
    "positive_int": lambda v: _is_int(v) and v >= 1,
    "non_negative_int": lambda v: _is_int(v) and v >= 0,
    "archs": lambda v: v is None or (_is_int(v) and v >= 1),
    "shard": lambda v: isinstance(v, tuple) and len(v) == 2 and all(map(_is_int, v)) and 0 <= v[0] < v[1],
    "net_options": lambda v: isinstance(v, dict) and all(isinstance(k, str) and k and k == k.strip() and _net_value(x)
                                                          for k, x in v.items()),
    "millions": lambda v: _finite(v) and v > 0,
    "ray_gpus": lambda v: _finite(v) and v >= 0,
    "triple": lambda v: isinstance(v, tuple) and len(v) == 3 and all(map(_finite, v)),
}
#: numbers in every spelling: signs, ints up to 10**30, float reprs, nan/inf, non-ASCII digits, suffixes
_NUMERIC = st.builds(
    lambda sign, body, suffix: sign + body + suffix,
    st.sampled_from(["", " ", "+", "-", " -", "--"]),
    st.one_of(st.integers(0, 10**30).map(str), st.floats().map(repr),
              st.sampled_from(["nan", "inf", "NaN", "Infinity", "1e400", "0.0", "1_000", "٣", "１", "", ".", "0x1"])),
    st.sampled_from(["", "M", "m", " ", "e5", "e-400", "/", ","]),
)


def cli_texts() -> st.SearchStrategy[str]:
    """Any text, numbers of every form, and the lists/pairs/options the types take."""
    item = st.one_of(_NUMERIC, st.text(max_size=4))
    number = st.one_of(st.integers(-3, 10).map(str), _NUMERIC)
    return st.one_of(
        st.text(), _NUMERIC, st.just("all"),
        st.builds(lambda a, b: f"{a}/{b}", number, number),
        st.lists(number, min_size=3, max_size=3).map(",".join),
        st.builds(lambda a, b: f"{a}/{b}", item, item),
        st.lists(item, max_size=4).map(",".join),
        st.lists(st.builds(lambda k, v: f"{k}={v}", st.text(max_size=3), item), max_size=3).map(",".join),
    )


@pytest.mark.parametrize("name", list(CLI_TYPES))
def test_cli_type_fuzz(name: str) -> None:
    fn, valid = getattr(cli_args, name), CLI_TYPES[name]
    seen: Counter = Counter()

    @settings(FUZZ, max_examples=CLI_STRINGS // BATCH)
    @given(texts=st.lists(cli_texts(), min_size=BATCH, max_size=BATCH))
    def run(texts: list[str]) -> None:
        for text in texts:
            try:
                value = fn(text)
            except argparse.ArgumentTypeError:
                seen["rejected"] += 1
                continue
            seen["accepted"] += 1
            assert valid(value), f"{name}({text!r}) returned {value!r}"

    run()
    assert seen["accepted"] and seen["rejected"] and seen["accepted"] + seen["rejected"] >= CLI_STRINGS, seen
