"""Session 67 audit of a long-lived process (each test failed on the code as found): the code check of a score store
was remembered per path string for the whole process, so a store deleted and made again at the same path (a notebook
cell rerun after ``rm -rf OUT``), or another store file put there, was never checked: the new store recorded no code
beside its scores (every later process then warned that they were "made before swapnas recorded code"), and a store
whose recorded code differs was reused without the ProxyCodeWarning a fresh process gives."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from swapnas.code_changes import warn_changed_code
from swapnas import ProxyCodeWarning
from swapnas.proxies import get_proxy
from swapnas.store import ScoreStore


def _remove_store(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def test_a_store_made_again_at_a_used_path_records_the_code_of_its_scores(tmp_path):
    """Same process, same path, a new (empty) store: the first check records the running code, as in a fresh
    process. Now nothing is recorded the second time."""
    params = get_proxy("params")
    path = tmp_path / "scores.sqlite"
    with ScoreStore(path) as store:
        warn_changed_code(store, [params])
        assert "params@1" in store.recorded_code()  # the first store: recorded
    _remove_store(path)
    with ScoreStore(path) as store:  # the cell rerun after `rm -rf OUT`
        warn_changed_code(store, [params])
        recorded = store.recorded_code()
    assert "params@1" in recorded, "a new store at a path this process used before records no code for its scores"


def test_another_store_put_at_a_used_path_is_checked_against_the_running_code(tmp_path):
    """A store whose recorded code differs from the running code warns (ProxyCodeWarning) in a fresh process; in a
    process that used the same path for another store before, it is reused silently."""
    params = get_proxy("params")
    path, other = tmp_path / "scores.sqlite", tmp_path / "other.sqlite"
    with ScoreStore(path) as store:
        warn_changed_code(store, [params])
    with ScoreStore(other) as store:  # a store made by other code (a colleague's, a backup, an older swapnas)
        store.accept_code("params@1", "0" * 64)
    _remove_store(path)
    shutil.copyfile(other, path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ScoreStore(path) as store:
            warn_changed_code(store, [params])
    assert any(issubclass(w.category, ProxyCodeWarning) for w in caught), \
        "a store at a path this process used before is not checked against the running code"


@pytest.mark.bundle
def test_search_arch_rerun_into_a_removed_out_records_the_code_again(tmp_path, data_dir):
    """End to end, as a notebook does it: search into OUT, `rm -rf OUT`, the same call again. The second store must
    record the code of its scores (the first does); otherwise a later process warns of scores made "before swapnas
    recorded code" on every run until `store accept-code`."""
    import swapnas
    data = data_dir
    out = tmp_path / "out"
    kw = dict(out=out, data_dir=str(data), fitness="params", population=3, sample=2, cycles=1, refine=0, workers=1,
              no_progress=True, batch_size=4)
    recorded = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):
            shutil.rmtree(out, ignore_errors=True)
            swapnas.search_arch("nb201", "cifar10", **kw)
            with ScoreStore(out / "scores.sqlite", read_only=True) as store:
                recorded.append(sorted(store.recorded_code()))
    assert recorded[0], recorded
    assert recorded[1] == recorded[0], f"first store records {recorded[0]}, the one made again {recorded[1]}"


@pytest.mark.bundle
def test_a_fresh_process_on_a_store_made_again_in_one_process_gives_no_code_warning(tmp_path, data_dir):
    """The consequence for the next process: it opens the store made again and warns that its scores were made
    before swapnas recorded code (and says so in every run until accept-code)."""
    data = data_dir
    script = tmp_path / "run.py"
    script.write_text(
        "import sys, os, warnings, torch\n"
        "from swapnas.benchmarks import get_benchmark\n"
        "from swapnas.session import configure\n"
        "from swapnas.correlation import run_correlation\n"
        "from swapnas.store import ScoreStore\n"
        "data, path, times = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
        "bench = get_benchmark('nb201', data)\n"
        "protocol, batch, proxies = configure('nb201', 'cifar10', 'params', seed=0, data_dir=data, batch_size=4)\n"
        "for _ in range(times):\n"
        "    for s in ('', '-wal', '-shm'):\n"
        "        if os.path.exists(path + s): os.remove(path + s)\n"
        "    with warnings.catch_warnings(record=True) as w:\n"
        "        warnings.simplefilter('always')\n"
        "        with ScoreStore(path) as store:\n"
        "            run_correlation(bench=bench, task='cifar10', proxies=proxies, n_archs=3, protocol=protocol,\n"
        "                            batch=batch, store=store, device=torch.device('cpu'), progress=False)\n"
        "print(sum('recorded code' in str(x.message) for x in w))\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    path = str(tmp_path / "s.sqlite")
    subprocess.run([sys.executable, str(script), str(data), path, "2"], check=True, env=env, capture_output=True)
    # a fresh process reusing that store, without deleting it
    script.write_text(script.read_text().replace("        if os.path.exists(path + s): os.remove(path + s)\n",
                                                 "        pass\n"))
    done = subprocess.run([sys.executable, str(script), str(data), path, "1"], check=True, env=env,
                          capture_output=True, text=True)
    assert done.stdout.strip() == "0", f"code warnings in the next process: {done.stdout.strip()}"
