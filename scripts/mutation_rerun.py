"""Re-run the mutants that mutmut 3.3.1 reported as ``timeout``, without its time limit (called by
mutation_check.sh, in the mutation clone).

mutmut estimates a test's duration from the last phase pytest reports for it (the teardown, about a millisecond),
so it kills a mutant's run after about 15 · (estimate + 1) ≈ 15 s of wall time: every mutant whose covering tests
take longer is called a timeout, whatever it does. Here each one runs the same tests (the ones mutmut recorded as
entering the mutated function) with the mutant switched on, under a generous limit, and is classed by pytest's exit
status: killed (a test failed), survived (all passed) or timeout (still running after ``--limit`` seconds).

    python scripts/mutation_rerun.py MUTANT... [--limit 1200] [--jobs 2]    # prints one line per mutant, then counts
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RUN = ("import sys, pytest; sys.exit(pytest.main(['-x', '-q', '-p', 'no:cacheprovider', '--rootdir=.'] + "
       "[t for t in open(sys.argv[1]).read().splitlines() if t]))")


def covering_tests(stats: dict, mutant: str) -> list[str]:
    """The tests mutmut saw entering the mutant's function (``module.x_function__mutmut_7`` → ``module.x_function``)."""
    function = mutant.rpartition("__mutmut_")[0]
    tests = sorted(stats["tests_by_mangled_function_name"].get(function, []))
    if not tests:
        raise SystemExit(f"no test entered {function}: was mutmut run on it in {Path.cwd()}?")
    return tests


def rerun(mutant: str, tests: list[str], limit: float, workdir: Path) -> str:
    listing = (workdir / f".rerun_{abs(hash(mutant))}.txt").resolve()   # read from inside workdir
    listing.write_text("\n".join(tests) + "\n")
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant, "PYTHONPATH": "src", "OMP_NUM_THREADS": "1"}
    try:
        code = subprocess.run([sys.executable, "-c", RUN, str(listing)], cwd=workdir, env=env, timeout=limit,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    except subprocess.TimeoutExpired:
        return "timeout"
    finally:
        listing.unlink(missing_ok=True)
    if code in (4, 5):  # a usage error or no test collected: no verdict
        raise SystemExit(f"pytest could not run the tests of {mutant} (exit status {code})")
    return "survived" if code == 0 else "killed"  # 1 failed, 2 a collection error, 3 internal error, < 0 a crash


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mutants", nargs="*")
    ap.add_argument("--limit", type=float, default=1200.0, help="seconds per mutant before it counts as a timeout")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--mutants-dir", type=Path, default=Path("mutants"))
    args = ap.parse_args(argv)
    stats = json.loads((args.mutants_dir / "mutmut-stats.json").read_text())
    verdicts: dict[str, str] = {}

    def one(mutant: str) -> None:
        verdicts[mutant] = rerun(mutant, covering_tests(stats, mutant), args.limit, args.mutants_dir)
        print(f"{verdicts[mutant]}: {mutant}", flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(one, args.mutants))
    for verdict, n in sorted(collections.Counter(verdicts.values()).items()):
        print(f"{n:7d} {verdict} (re-run)")


if __name__ == "__main__":
    main()
