"""Session 67 audit of encodings, locales and names (each test failed on the code as found): metric names the plots
read as mathtext or as a path, names no --proxies list can select, a plot link report.md readers do not show, code
times that depend on TZ."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from swapnas import report
from swapnas.proxies import registry
from swapnas.results import ProxyResult
from swapnas.store import ScoreStore
from swapnas.store_tools import check_store

SRC = str(Path(__import__("swapnas").__file__).resolve().parents[1])


def _result(proxy: str) -> ProxyResult:
    nan = float("nan")
    return ProxyResult(proxy, f"{proxy}@1", "nb201", "cifar10", 4, 0, 0.4, 0.33, (nan, nan), nan, nan, 0.01, True)


def _plain(model, batch) -> float:
    """A stand-in metric."""
    return 0.0


# --- F1 (medium): a metric name with a `$...$` pair ends correlate after every arch is scored -----------------------

def test_a_metric_name_with_dollar_signs_does_not_stop_the_scatter_plot(tmp_path: Path) -> None:
    """`python my_swapnas.py correlate --proxies 'cost $\\nope$,params' …` (a metric registered as `cost $\\nope$`)
    scored and stored every arch, wrote results.json/results.csv, then ended with exit 2 and the bare message
    "\\nope ^ ParseFatalException: Unknown symbol: \\nope": no plots, no report.md, no results.tex, on every rerun.
    Session 63 turned mathtext off for the y-label, title and footnote; the two x-labels hold the proxy's name and
    still parse it (report.py: `ax.set_xlabel(f"{result.proxy} score…")`, `rk.set_xlabel(...)`)."""
    path = report.scatter_plot([1.0, 2.0, 3.0, 4.0], [10.0, 30.0, 20.0, 40.0], _result("cost $\\nope$"),
                               "NB201 valid accuracy (%)", tmp_path)
    assert path.is_file() and path.stat().st_size > 0


def test_a_metric_name_with_a_valid_dollar_pair_is_drawn_as_written(tmp_path: Path, monkeypatch) -> None:
    """A name such as `acc$_1$` was drawn as `acc₁` on both x-axes (no error, the name changed)."""
    figs: list = []
    real = report.save_figure
    monkeypatch.setattr(report, "save_figure", lambda fig, p: (figs.append(fig), real(fig, p))[1])
    report.scatter_plot([1.0, 2.0, 3.0, 4.0], [10.0, 30.0, 20.0, 40.0], _result("acc$_1$"), "truth", tmp_path)
    (fig,) = figs
    parsed = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_parse_math"))
              if "acc$_1$" in t.get_text() and t.get_parse_math()]
    assert not parsed, f"the metric's name read as mathtext: {parsed}"


# --- F2 (medium): a metric name with '/' passes `register` and ends correlate after scoring ---------------------------

def test_a_metric_name_with_a_slash_is_refused_at_registration_or_plotted_inside_out(tmp_path: Path,
                                                                                    scratch_registry) -> None:
    """`register("grad/norm")` is accepted; `correlate --proxies grad/norm,params` then scores and stores every arch
    and ends with exit 2: "[Errno 2] No such file or directory: 'OUT/scatter_grad/.norm.png.1773.3d8e5b22.tmp'" (a
    temporary name), leaving no plots, report.md or results.tex, again on every rerun. Either `register` refuses the
    name (as it refuses '@' and 'net:'), or the plot's file name is made safe."""
    with pytest.raises(ValueError, match="proxy name 'grad/norm': a name is 1 to 100 bytes of printable text"):
        registry.register("grad/norm")(_plain)
    assert "grad/norm" not in registry._REGISTRY


# --- F3 (low-medium): `register` accepts names that no --proxies / score() text can ever select ----------------------

@pytest.mark.parametrize("name", ["σ,τ", " pad ", "", "x\ny", "a\\b", "é" * 51])
def test_register_refuses_a_name_that_the_proxy_list_cannot_name(name: str, scratch_registry) -> None:
    """`register("σ,τ")`, `register(" pad ")`, `register("")` succeed and the metric is listed by `swapnas
    proxies`, but `--proxies 'σ,τ'` says "unknown proxies 'σ', 'τ'", `score(m, x, " pad ")` says "unknown proxy
    'pad'; did you mean ' pad '?" and '' is "no proxy named". A name with a newline breaks the proxies listing and
    report.md's table rows. `register` already refuses '@' and 'net:' because the store could not tell them apart;
    a name the comma-separated proxy list cannot name should be refused the same way."""
    with pytest.raises(ValueError, match="choose another"):
        registry.register(name)(_plain)
    assert name not in registry._REGISTRY


# --- F4 (low): report.md's image link for a metric whose name holds a space is not an image ------------------------

def test_report_md_links_a_plot_whose_name_holds_a_space_as_an_image() -> None:
    """`![scatter_logit std.png](scatter_logit std.png)`: CommonMark allows no space in a bare link destination,
    so GitHub and markdown-it show the text, not the plot (`<scatter_logit std.png>` or `%20` would do)."""
    markdown_it = pytest.importorskip("markdown_it")
    from swapnas.report import correlation_report
    from swapnas.results import CorrelateRun

    protocol = {"space": "nb201", "dataset": "cifar10", "batch_size": 16, "repeats": 4, "seed": 0, "init": "gaussian",
                "bn_train": True, "net": {"C": 16, "N": 1}, "batch_digest": "c9d2889e331436c7", "inputs": "real",
                "fingerprint": "cb44128d80809eae"}
    run = CorrelateRun(protocol, "NB201 valid accuracy (%)", "", [_result("logit std")],
                       {"logit std": [1.0, 2.0, 3.0, 4.0]}, [1.0, 2.0, 3.0, 4.0], ["a", "b", "c", "d"], 1.0)
    prov = {"command": "swapnas correlate", "swapnas": "0.1.0", "source": "x", "torch": "2", "numpy": "2",
            "scipy": "1", "created_utc": "2026-01-01T00:00:00Z"}
    text = correlation_report(run, prov, ["scatter_logit std.png"])
    html = markdown_it.MarkdownIt("commonmark").render(text)
    assert "<img" in html and "scatter_logit" in html.split("<img", 1)[1], "the plot is not linked as an image"


# --- F5 (low): `store check --json` gives the recorded code's times in the local zone, without saying which -----------

def test_store_check_gives_the_same_code_times_whatever_tz(tmp_path: Path) -> None:
    """`TZ=UTC swapnas --json store check S` said `"codes": {"params@1": "2026-12-07 20:07"}`, `TZ=Asia/Kolkata`
    `"2026-12-08 01:37"` for the same store: naive local times in a machine-readable document (and in the text
    report and the ProxyCodeWarning), where every other time of the package is UTC with a `Z`."""
    store = tmp_path / "s.sqlite"
    s = ScoreStore(store)
    s.accept_code("params@1", "0123456789abcdef")
    s.close()
    old = os.environ.get("TZ")
    seen = {}
    try:
        for tz in ("UTC", "Asia/Kolkata"):
            os.environ["TZ"] = tz
            time.tzset()
            seen[tz] = check_store(store).codes
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()
    assert seen["UTC"] == seen["Asia/Kolkata"] or all(
        v.endswith("Z") or v[-6] in "+-" for v in seen["Asia/Kolkata"].values()), seen
