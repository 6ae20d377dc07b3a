"""Re-run the mutants that mutmut 3.3.1 reported as ``timeout``, without its time limit (called by
mutation_check.sh, in the mutation clone).

mutmut estimates a test's duration from the last phase pytest reports for it (the teardown, about a millisecond),
so it kills a mutant's run after about 15 · (estimate + 1) ≈ 15 s of wall time: every mutant whose covering tests
take longer is called a timeout, whatever it does. Here each one runs the same tests (the ones mutmut recorded as
entering the mutated function) with the mutant switched on, and is classed by pytest's exit status: killed (a test
failed), survived (all passed) or timeout. The time limit is ``--factor`` times what the same tests take on the
unmutated code (run once per function first; a mutated loop bound may never end), within ``--min-limit`` and
``--limit`` seconds.

    python scripts/mutation_rerun.py MUTANT... [--factor 5] [--jobs 2]    # prints one line per mutant, then counts
    python scripts/mutation_rerun.py MUTANT... --only 'store'              # only tests whose id matches: quicker
                                                                           # (a function none of them entered: not run)
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RUN = ("import sys, pytest; sys.exit(pytest.main(['-x', '-q', '-p', 'no:cacheprovider', '--rootdir=.'] + "
       "[t for t in open(sys.argv[1]).read().splitlines() if t]))")


def function_of(mutant: str) -> str:
    """The mangled function a mutant belongs to: ``module.x_function__mutmut_7`` → ``module.x_function``."""
    return mutant.rpartition("__mutmut_")[0]


def covering_tests(stats: dict, function: str, only: str = "") -> list[str]:
    """The tests mutmut saw entering ``function`` (mangled, as :func:`function_of` gives it); with ``only``, those
    whose id matches that regular expression (possibly none: that function's mutants are then not run)."""
    tests = sorted(stats["tests_by_mangled_function_name"].get(function, []))
    if not tests:
        raise SystemExit(f"no test entered {function} in mutmut-stats.json: give mutants of a module that "
                         "mutation_check.sh (mutmut run) has just run on, from its clone")
    return [t for t in tests if re.search(only, t)]


def rerun(mutant: str, tests: list[str], limit: float, workdir: Path) -> tuple[str, float]:
    """The verdict on ``mutant`` ("" runs the code as it is) and the seconds its tests took."""
    with tempfile.NamedTemporaryFile("w", prefix=".rerun_", suffix=".txt", dir=workdir, delete=False) as f:
        f.write("\n".join(tests) + "\n")
    listing = Path(f.name).resolve()   # read from inside workdir
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant, "PYTHONPATH": "src", "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    try:
        code = subprocess.run([sys.executable, "-c", RUN, str(listing)], cwd=workdir, env=env, timeout=limit,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    except subprocess.TimeoutExpired:
        return "timeout", limit
    finally:
        listing.unlink(missing_ok=True)
    if code in (4, 5):  # a usage error or no test collected: no verdict
        raise SystemExit(f"pytest could not run the tests of {mutant or 'the unmutated code'} (exit status {code})")
    # 1 failed, 2 a collection error, 3 internal error, < 0 a crash
    return ("survived" if code == 0 else "killed"), time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mutants", nargs="*")
    ap.add_argument("--factor", type=float, default=5.0,
                    help="a mutant times out after FACTOR times the seconds its tests take on the unmutated code "
                         "(a mutated loop bound may never end) ...")
    ap.add_argument("--min-limit", type=float, default=30.0, help="... but no sooner than this many seconds ...")
    ap.add_argument("--limit", type=float, default=1200.0, help="... and no later than this many")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--only", default="", metavar="REGEX",
                    help="run only the covering tests whose id matches (a quicker, partial verdict: a survivor may "
                         "be killed by a test left out; a kill stands)")
    ap.add_argument("--mutants-dir", type=Path, default=Path("mutants"))
    args = ap.parse_args(argv)
    stats = json.loads((args.mutants_dir / "mutmut-stats.json").read_text())
    limits: dict[str, float] = {}
    verdicts: dict[str, str] = {}

    functions = sorted({function_of(m) for m in args.mutants})
    tests = {f: covering_tests(stats, f, args.only) for f in functions}
    for f in functions:
        if not tests[f]:  # said once per function; its mutants keep their timeout, counted as not run
            print(f"not run: no test that entered {f} matches --only {args.only!r}", flush=True)

    def clean(function: str) -> None:
        verdict, seconds = rerun("", tests[function], args.limit, args.mutants_dir)
        if verdict != "survived":
            raise SystemExit(f"the tests of {function} do not pass on the unmutated code ({verdict})")
        limits[function] = min(args.limit, max(args.min_limit, args.factor * seconds))

    def one(mutant: str) -> None:
        function = function_of(mutant)
        verdicts[mutant] = rerun(mutant, tests[function], limits[function], args.mutants_dir)[0]
        print(f"{verdicts[mutant]}: {mutant}", flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(clean, [f for f in functions if tests[f]]))
        list(pool.map(one, [m for m in args.mutants if tests[function_of(m)]]))
    verdicts.update({m: "not run" for m in args.mutants if not tests[function_of(m)]})
    for verdict, n in sorted(collections.Counter(verdicts.values()).items()):
        print(f"{n:7d} {verdict} (re-run)")


if __name__ == "__main__":
    main()
