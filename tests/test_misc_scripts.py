"""Scripts whose figures docs/ quotes: flexibert_distinct.py, flexibert_search_table.py, flexibert_study.py,
token_stats.py, size_control.py and nb201_iso_sizes.py. Each is run on tiny fake inputs built here (or, where a
script scores networks, with its scoring replaced by fakes) and its printed figures are checked against hand
counts and naive computations written in this file; the documented figures are checked on the real bundle."""

from __future__ import annotations

import collections
import csv
import itertools
import json
import math
import random
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import pytest

from swapnas import tokens
from swapnas.results import provenance, strict_json
from swapnas.search import write_result
from swapnas.store import Record
from tests.script_tools import load_script, naive_spearman, run_main
from tests.search_tools import search_result

TASKS = ("glue", "cola", "mnli", "mrpc", "qnli", "qqp", "rte", "sst", "sts")


# ------------------------------------------------------------------ FlexiBERT records (the bundle's JSON format)


def _fb_record(hidden: int, layers: list[str], glue: float) -> dict:
    """A FlexiBERT-500 record; a layer is written 'OP.PARAM.hHEADS.fWIDTHxCOUNT' and split here by hand."""
    encoder = []
    for text in layers:
        op, param, heads, ff = text.split(".")
        width, count = ff[1:].split("x")
        encoder.append({"operation_type": op, "operation_parameter": param, "num_operation_heads": int(heads[1:]),
                        "feed_forward_dimension": int(width), "num_feed_forward": int(count)})
    return {"scores": {t: glue + i for i, t in enumerate(TASKS)},
            "hparams": {"model_hparam_overrides": {"hidden_size": hidden, "nas_config": {"encoder_layers": encoder}}}}


def _write_records(root: Path, records: list[dict]) -> Path:
    (root / "flexibert").mkdir(parents=True)
    (root / "flexibert" / "flexibert_glue_500.json").write_text(json.dumps(records))
    return root


def _raw_layers(record: dict) -> list[dict]:
    return record["hparams"]["model_hparam_overrides"]["nas_config"]["encoder_layers"]


def _raw_key(record: dict) -> tuple:
    """The arch of a raw record as a plain tuple: hidden size, then per layer the five choices."""
    over = record["hparams"]["model_hparam_overrides"]
    fields = ("operation_type", "operation_parameter", "num_operation_heads", "feed_forward_dimension",
              "num_feed_forward")
    return (int(over["hidden_size"]), tuple(tuple(str(d[f]) for f in fields) for d in _raw_layers(record)))


def _naive_glue_by_arch(records: list[dict]) -> list[float]:
    """GLUE score per distinct arch (mean of its records), by loops over the raw JSON."""
    sums: dict[tuple, list[float]] = {}
    for r in records:
        sums.setdefault(_raw_key(r), []).append(float(r["scores"]["glue"]))
    return [sum(v) / len(v) for v in sums.values()]


# ------------------------------------------------------------------ flexibert_distinct


def test_flexibert_distinct_counts_hand_built_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    base = ["SA.SDP.h4.f512x1", "LT.DFT.h2.f1024x3"]
    records = [
        _fb_record(256, base, 70.0),
        _fb_record(256, base, 71.0),  # the same arch again: one more record, no new arch
        _fb_record(128, base, 69.0),  # differs in the hidden size only: the authors' reading builds r0's network
        _fb_record(256, ["SA.SDP.h4.f1024x1", "LT.DFT.h2.f512x3"], 68.0),  # FF widths only: r0's network too
        _fb_record(256, ["SA.SDP.h4.f512x3", "LT.DFT.h2.f1024x3"], 67.0),  # FF depth differs: its own network
        _fb_record(128, ["DSC.5.h8.f512x1", "DSC.9.h8.f512x1", "SA.WMA.h2.f1024x1", "LT.DCT.h4.f512x3"], 66.0),
    ]
    run_main(load_script("flexibert_distinct", "tmisc"), monkeypatch, str(_write_records(tmp_path, records)))
    # by hand: 6 records, 5 archs (r0 = r1); authors: {r0, r2, r3}, r4, r5 = 3 networks, 1 shared; design: the 5 archs.
    # heads over the records' 14 layers: r0-r4 have one h4 and one h2 layer each (5 + 5), r5 two h8, one h2, one h4
    assert capsys.readouterr().out.splitlines() == [
        "6 records, 5 distinct archs",
        "sizes=authors: 3 distinct networks (1 of them built from more than one arch)",
        "sizes=design: 5 distinct networks (0 of them built from more than one arch)",
        "head counts over the records' layers: 2: 6, 4: 6, 8: 2",
    ]


def test_flexibert_distinct_on_the_real_bundle_matches_a_naive_count_and_the_docs(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    records = json.loads((data_dir / "flexibert" / "flexibert_glue_500.json").read_text())
    archs = {_raw_key(r) for r in records}
    # the authors' reading builds hidden 256 and FF 1024 whatever the arch says: drop the hidden size and FF widths
    authors = collections.Counter(tuple((op, p, h, n) for op, p, h, _, n in layers) for _, layers in archs)
    heads = collections.Counter(d["num_operation_heads"] for r in records for d in _raw_layers(r))
    run_main(load_script("flexibert_distinct", "tmisc"), monkeypatch, str(data_dir))
    want = [f"{len(records)} records, {len(archs)} distinct archs",
            f"sizes=authors: {len(authors)} distinct networks "
            f"({sum(n > 1 for n in authors.values())} of them built from more than one arch)",
            f"sizes=design: {len(archs)} distinct networks (0 of them built from more than one arch)",
            f"head counts over the records' layers: 2: {heads[2]}, 4: {heads[4]}, 8: {heads[8]}"]
    assert capsys.readouterr().out.splitlines() == want
    # docs/transformers.md ("Benchmark", head counts) and docs/reliability.md quote these
    assert want == ["500 records, 491 distinct archs",
                    "sizes=authors: 457 distinct networks (29 of them built from more than one arch)",
                    "sizes=design: 491 distinct networks (0 of them built from more than one arch)",
                    "head counts over the records' layers: 2: 722, 4: 800, 8: 0"]
    assert max(authors.values()) == 4  # "29 of the 457 from two to four archs each"


# ------------------------------------------------------------------ flexibert_search_table


def _bench_line(records: list[dict]) -> str:
    """The script's last line, computed by loops: optimum, median and mean of the distinct archs' GLUE scores."""
    per_arch = sorted(_naive_glue_by_arch(records))
    n = len(per_arch)
    median = per_arch[n // 2] if n % 2 else (per_arch[n // 2 - 1] + per_arch[n // 2]) / 2
    return (f"Benchmark (glue, {n} distinct archs): optimum {per_arch[-1]:.2f}, median {median:.2f}, "
            f"mean {sum(per_arch) / n:.2f}")


def _flexibert_result(seed: int, proxy: str, score: float, distance: int, rank: int, wall: float):
    return search_result(space="flexibert", dataset="glue", seed=seed, wall_seconds=wall,
                         best="h256|SA.SDP.h4.f512x1|LT.DFT.h2.f1024x3", fitness_proxy=f"{proxy}@1",
                         extra={"in_benchmark": int(distance == 0), "benchmark_arch": "h256|SA.SDP.h4.f512x1|"
                                "LT.DFT.h2.f1024x3", "distance": distance, "glue_score": score, "rank": rank,
                                "tied": 1, "of": 491, "optimum": 75.13})


def _search_table(runs: Path, data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> list:
    run_main(load_script("flexibert_search_table", "tmisc"), monkeypatch, str(runs), "--data-dir", str(data))
    return capsys.readouterr().out.splitlines()


HEADER = ("| fitness | seeds | GLUE score (mean ± std) | per seed | nearest benchmark arch: choices differing | "
          "rank of 491 | found arch in the benchmark | search loop (s, per seed) |")


def test_flexibert_search_table_reads_write_result_outputs(tmp_path: Path, small_bundle: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    for name, result in {"best_s0": _flexibert_result(0, "swap_ext_layers", 72.5, 0, 12, 0.24),
                         "best_s1": _flexibert_result(1, "swap_ext_layers", 70.25, 3, 40, 45.36),
                         # a fitness whose name holds "_s": the seed is the last "_s" part
                         "vkdnw_single_s0": _flexibert_result(0, "vkdnw_single", 69.5, 6, 90, 33.31)}.items():
        (runs / name).mkdir(parents=True)
        write_result(result, runs / name)  # result.json exactly as `swapnas search` writes it
    (runs / "notes").mkdir()  # not FITNESS_sSEED: not read
    lines = _search_table(runs, small_bundle, monkeypatch, capsys)
    # best: mean (72.5 + 70.25) / 2 = 71.375, population std |72.5 - 71.375| = 1.125; both exact in binary, so .2f
    # rounds them half to even: 71.38 and 1.12; one arch found in the benchmark (distance 0). vkdnw_single: one seed,
    # std 0
    assert lines[:5] == [HEADER, "|---|---|---|---|---|---|---|---|",
                         "| best (swap_ext_layers) | 2 | 71.38 ± 1.12 | 72.50, 70.25 | 0, 3 | 12, 40 | 1 | 0.2, 45.4 |",
                         "| vkdnw_single (vkdnw_single) | 1 | 69.50 ± 0.00 | 69.50 | 6 | 90 | 0 | 33.3 |", ""]
    records = json.loads((small_bundle / "flexibert" / "flexibert_glue_500.json").read_text())
    assert lines[5:] == [_bench_line(records)]


def test_flexibert_search_table_reproduces_the_documented_rows(tmp_path: Path, small_bundle: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture) -> None:
    # docs/transformers.md's table (per-seed scores, distances, ranks, loop seconds: seed 0 read the store, 0.2 s)
    docs = {"best": ("swap_ext_layers", [73.68, 71.12, 74.72, 71.06, 69.55], [6, 6, 7, 6, 5], [31, 150, 3, 156, 251],
                     [0.2, 45.4, 44.8, 53.5, 51.5]),
            "swap_ext": ("swap_ext", [72.69, 72.79, 70.42, 69.71, 71.12], [7, 6, 7, 8, 6], [99, 90, 202, 243, 150],
                         [0.2, 33.3, 37.1, 35.5, 37.7])}
    for fitness, (proxy, scores, dists, ranks, walls) in docs.items():
        for seed in range(5):
            result = _flexibert_result(seed, proxy, scores[seed], dists[seed], ranks[seed], walls[seed])
            (tmp_path / f"{fitness}_s{seed}").mkdir()  # write_result's result.json, without its two figures
            (tmp_path / f"{fitness}_s{seed}" / "result.json").write_text(
                strict_json({"provenance": provenance(), **asdict(result)}))
    lines = _search_table(tmp_path, small_bundle, monkeypatch, capsys)
    for (fitness, (proxy, scores, dists, ranks, walls)), line in zip(docs.items(), lines[2:4]):
        mean = sum(scores) / 5
        std = math.sqrt(sum((s - mean) ** 2 for s in scores) / 5)  # population std (over the seeds)
        assert line == (f"| {fitness} ({proxy}) | 5 | {mean:.2f} ± {std:.2f} | {', '.join(f'{s:.2f}' for s in scores)}"
                        f" | {', '.join(map(str, dists))} | {', '.join(map(str, ranks))} | 0 | "
                        f"{', '.join(f'{w:.1f}' for w in walls)} |")
    assert lines[2].split(" | ")[2] == "72.03 ± 1.89" and lines[3].split(" | ")[2] == "71.35 ± 1.22"  # the docs


def test_flexibert_search_table_benchmark_line_on_the_real_bundle(data_dir: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "best_s0").mkdir()
    (tmp_path / "best_s0" / "result.json").write_text(
        strict_json(asdict(_flexibert_result(0, "swap_ext_layers", 70.0, 5, 200, 1.0))))
    lines = _search_table(tmp_path, data_dir, monkeypatch, capsys)
    records = json.loads((data_dir / "flexibert" / "flexibert_glue_500.json").read_text())
    assert lines[-1] == _bench_line(records)
    assert lines[-1] == "Benchmark (glue, 491 distinct archs): optimum 75.13, median 69.60, mean 68.94"  # the docs


# ------------------------------------------------------------------ flexibert_study


def test_flexibert_study_halves_are_the_correlate_sample_and_the_rest() -> None:
    mod = load_script("flexibert_study", "tmisc")
    archs = [f"arch{i:03d}" for i in range(491)]
    h = mod.halves(archs)
    # dev: what `swapnas correlate --archs 245 --seed 0` scores, random.Random(0).sample; test: the rest, in order
    assert h["dev"] == random.Random(0).sample(list(archs), 245)
    assert h["test"] == [a for a in archs if a not in set(h["dev"])]
    assert (len(h["dev"]), len(h["test"])) == (245, 246)
    assert sorted(h["dev"] + h["test"]) == archs and h["all"] == archs
    few = archs[:30]  # fewer archs than the dev half: all of them, in order, and an empty test half
    assert mod.halves(few) == {"dev": few, "test": [], "all": few}


FakeArch = collections.namedtuple("FakeArch", "name layers")


class _FakeBench:
    """The FlexiBERT benchmark as flexibert_study reads it: archs, per-task scores, design size, records."""

    def __init__(self, archs: list, acc: dict, size: dict, record_archs: list, records: list):
        self.archs, self.acc, self.size, self.record_archs, self.records = archs, acc, size, record_archs, records

    def archs_for(self, task: str) -> list:
        assert task == "glue"
        return list(self.archs)

    def accuracies(self, archs: list, task: str) -> list:
        return [self.acc[task][a] for a in archs]

    def params_m(self, arch) -> float:
        return self.size[arch]


def _study(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, bench: _FakeBench, scores: dict,
           others: list[SimpleNamespace], argv: list[str]) -> tuple[dict, dict]:
    """Run flexibert_study.main with its benchmark, configuration and scoring replaced: ``scores[name][arch]`` is
    the Record of each proxy. Returns the printed JSON and what configure / score_archs were given."""
    mod = load_script("flexibert_study", "tmisc")
    seen: dict = {}
    proxies = [SimpleNamespace(name="swap_ext", parts=(), higher_is_better=True),
               SimpleNamespace(name="params", parts=(), higher_is_better=True), *others]

    def configure(space, task, names, **kw):
        seen["configure"] = (space, task, names, kw)
        return SimpleNamespace(describe=lambda: {"space": space, "fake": 1}), "batch", proxies

    def score_archs(archs, space, proxies, protocol, batch, store, device, **kw):
        seen["archs"] = list(archs)
        return {p.name: [scores[p.name][a] for a in archs] for p in proxies if not p.parts}

    monkeypatch.setattr(mod, "get_benchmark", lambda name, data_dir: bench)
    monkeypatch.setattr(mod, "configure", configure)
    monkeypatch.setattr(mod, "score_archs", score_archs)
    monkeypatch.setattr(mod, "ScoreStore", lambda path: path)
    monkeypatch.setattr(mod.torch, "set_num_threads", lambda n: seen.setdefault("threads", n))
    run_main(mod, monkeypatch, *argv)
    return json.loads(capsys.readouterr().out), seen


def _ok(value: float, seconds: float = 1.0, peak: int | None = None) -> Record:
    return Record("ok", value, 0.0, [value], seconds, peak, None)


def test_flexibert_study_rho_table_on_a_fake_benchmark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    n = 12
    archs = [FakeArch(f"a{i}", tuple(range(2 if i % 3 else 4))) for i in range(n)]
    swap = [5.0, 3.0, 9.0, 1.0, 7.0, 3.0, 2.0, 8.0, 6.0, 4.0, 10.0, 0.5]  # a tie (3.0): 11 distinct values
    params = [float((7 * i) % 12) for i in range(n)]
    size = [1.0 + ((5 * i) % 7) for i in range(n)]  # ties in the design size
    acc = {t: {a: float((i * (k + 3)) % 11 + 0.1 * i) for i, a in enumerate(archs)} for k, t in enumerate(TASKS)}
    zico = [float((i * i) % 13) for i in range(n)]
    l2 = [float((3 * i + 1) % 17) for i in range(n)]  # lower is better: its ρ is taken on -l2
    bad = Record("failed", None, None, [], 0.1, None, "ValueError: boom")
    scores = {"swap_ext": {a: _ok(swap[i], seconds=0.5 + i, peak=(2 ** 20 * (i + 1) if i % 2 else None))
                           for i, a in enumerate(archs)},
              "params": {a: _ok(params[i]) for i, a in enumerate(archs)},
              "zico": {a: _ok(zico[i]) for i, a in enumerate(archs)},
              "l2_norm": {a: bad if i == 4 else _ok(l2[i]) for i, a in enumerate(archs)},  # 11 ok: a ρ
              "fisher": {a: bad if i in (0, 7) else _ok(1.0 + i) for i, a in enumerate(archs)}}  # 10 ok: no ρ
    others = [SimpleNamespace(name="zico", parts=(), higher_is_better=True),
              SimpleNamespace(name="l2_norm", parts=(), higher_is_better=False),
              SimpleNamespace(name="fisher", parts=(), higher_is_better=True),
              SimpleNamespace(name="combo", parts=("zico", "fisher"), higher_is_better=True)]  # composite: skipped
    record_archs = [*archs, archs[2], archs[5]]  # two archs trained twice: 14 records
    records = [{"scores": {"glue": 60.0 + (i * 5) % 14}} for i in range(len(record_archs))]
    bench = _FakeBench(archs, acc, dict(zip(archs, size)), record_archs, records)
    out_json = tmp_path / "out.json"
    out, seen = _study(monkeypatch, capsys, bench, scores, others,
                       ["--half", "all", "--others", "zico,l2_norm,fisher,combo", "--sizes", "design", "--seq-len",
                        "16", "--objective", "mlm", "--dropout", "0.1", "--layout", "flexibert", "--data-dir", "D",
                        "--json", str(out_json)])
    assert seen["configure"] == ("flexibert", "glue", "swap_ext,params,zico,l2_norm,fisher,combo",
                                 {"seed": 0, "batch_size": 32, "init": "default", "inputs": "real", "data_dir": "D",
                                  "net": {"sizes": "design", "resolution": 16, "objective": "mlm", "dropout": 0.1,
                                          "layout": "flexibert"}})
    assert seen["archs"] == archs and seen["threads"] == 1
    depth = [len(a.layers) for a in archs]
    for t in TASKS:
        y = [acc[t][a] for a in archs]
        ok = [i for i in range(n) if i != 4]
        want = {"swap_ext": naive_spearman(swap, y), "params": naive_spearman(params, y),
                "params_design": naive_spearman(size, y), "depth": naive_spearman(depth, y),
                "zico": naive_spearman(zico, y), "l2_norm": naive_spearman([-l2[i] for i in ok], [y[i] for i in ok])}
        assert out["rho"][t] == pytest.approx(want, abs=1e-12), t
    # the records themselves: each record gets its arch's swap_ext, correlated with the record's own GLUE score
    rec_swap = [swap[archs.index(a)] for a in record_archs]
    assert out["rho"]["glue_500_records"] == pytest.approx(
        {"swap_ext": naive_spearman(rec_swap, [r["scores"]["glue"] for r in records])}, abs=1e-12)
    assert out["failed"] == {"l2_norm": "1 of 12 failed: ValueError: boom",
                             "fisher": "2 of 12 failed: ValueError: boom"}
    # seconds 0.5 … 11.5: median of an even count is the mean of the middle two (5.5 + 6.5) / 2; peaks of the odd
    # archs 2, 4, …, 12 MiB; 11 distinct swap_ext values
    assert (out["half"], out["n"], out["distinct_swap_values"]) == ("all", 12, 11)
    assert (out["swap_ext_seconds_median"], out["swap_ext_seconds_max"], out["swap_ext_peak_mib_max"]) == (6.0, 11.5,
                                                                                                          12.0)
    assert out["protocol"] == {"space": "flexibert", "fake": 1}
    assert json.loads(out_json.read_text()) == out and out_json.read_text().endswith("}\n")


def test_flexibert_study_test_half_with_a_limit(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    n = 300
    archs = [FakeArch(f"a{i}", tuple(range(2 if i % 2 else 4))) for i in range(n)]
    rng = random.Random(1)
    swap = {a: rng.random() for a in archs}
    params = {a: float(rng.randrange(20)) for a in archs}
    size = {a: float(rng.randrange(9)) for a in archs}
    acc = {t: {a: rng.random() for a in archs} for t in TASKS}
    scores = {"swap_ext": {a: _ok(swap[a], seconds=1.0 + i % 4) for i, a in enumerate(archs)},
              "params": {a: _ok(params[a]) for a in archs}}
    bench = _FakeBench(archs, acc, size, archs, [])
    out, seen = _study(monkeypatch, capsys, bench, scores, [], ["--half", "test", "--limit", "40"])
    chosen = set(random.Random(0).sample(archs, 245))  # the dev half; test: the other 55, in order; the first 40
    half = [a for a in archs if a not in chosen][:40]
    assert seen["archs"] == half and seen["configure"][3]["net"] == {"sizes": "authors", "resolution": 16}
    for t in TASKS:
        y = [acc[t][a] for a in half]
        assert out["rho"][t] == pytest.approx({
            "swap_ext": naive_spearman([swap[a] for a in half], y),
            "params": naive_spearman([params[a] for a in half], y),
            "params_design": naive_spearman([size[a] for a in half], y),
            "depth": naive_spearman([len(a.layers) for a in half], y)}, abs=1e-12)
    assert "glue_500_records" not in out["rho"] and out["failed"] == {} and out["swap_ext_peak_mib_max"] is None
    secs = sorted(1.0 + archs.index(a) % 4 for a in half)
    assert out["swap_ext_seconds_median"] == (secs[19] + secs[20]) / 2 and out["swap_ext_seconds_max"] == max(secs)
    assert (out["half"], out["n"]) == ("test", 40)


# ------------------------------------------------------------------ token_stats


def test_token_stats_on_hand_built_topics(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    topics = tuple((1000,) * n for n in (14, 20, 7, 0, 320, 1300))
    monkeypatch.setattr(tokens, "_topics", lambda: topics)
    monkeypatch.setattr(tokens, "sequences", tokens.sequences.__wrapped__)  # not the real text's cached rows
    load_script("token_stats", "tmisc").main()
    # windows of L - 2 words; a topic's shorter tail is kept (and padded) if 2 * tail >= L - 2:
    # L = 16 (14 words): 14 -> 1; 20 -> 1 (tail 6 dropped); 7 -> 1 padded (7 pads, exactly half: kept); 0 -> 0;
    #   320 -> 22 + tail 12 (2 pads); 1300 -> 92 + tail 12 (2 pads): 119 rows, 3 padded, 11 pads / 1,904 = 0.58 %
    # L = 128 (126): only 320 -> 2 + tail 68 (58 pads) and 1300 -> 10 (tail 40 dropped): 13 rows, 58 / 1,664 = 3.49 %
    # L = 512 (510): 320 -> tail 320 (190 pads); 1300 -> 2 + tail 280 (230 pads): 4 rows, 2 padded, 420 / 2,048 = 20.5 %
    assert capsys.readouterr().out.splitlines() == [
        "6 topics, 1,661 tokens",
        "L = 16: 119 sequences, 3 padded, 0.6 % pad tokens",
        "L = 128: 13 sequences, 1 padded, 3.5 % pad tokens",
        "L = 512: 4 sequences, 2 padded, 20.5 % pad tokens",
    ]


def _naive_token_lines(lengths: list[int]) -> list[str]:
    """token_stats' lines by arithmetic on the topic lengths: n // w full windows, the tail n % w kept if
    2·tail >= w."""
    lines = [f"{len(lengths)} topics, {sum(lengths):,} tokens"]
    for length in (16, 128, 512):
        w = length - 2
        tails = [n % w for n in lengths if n % w and 2 * (n % w) >= w]
        rows = sum(n // w for n in lengths) + len(tails)
        pads = sum(w - t for t in tails)
        lines.append(f"L = {length}: {rows:,} sequences, {len(tails)} padded, {100 * pads / (rows * length):.1f} % "
                     "pad tokens")
    return lines


def test_token_stats_on_the_real_text_matches_window_arithmetic(capsys: pytest.CaptureFixture) -> None:
    if tokens._pydoc is None:
        pytest.skip("this Python has no pydoc_data")
    load_script("token_stats", "tmisc").main()
    lines = capsys.readouterr().out.splitlines()
    assert lines == _naive_token_lines([len(t) for t in tokens._topics()])
    if lines[0] != "79 topics, 100,891 tokens":
        pytest.skip(f"another Python's documentation ({lines[0]}): the documented figures are for 3.11.7's")
    assert lines[1:] == ["L = 16: 7,207 sequences, 40 padded, 0.1 % pad tokens",  # docs/transformers.md
                         "L = 128: 802 sequences, 39 padded, 1.3 % pad tokens",
                         "L = 512: 194 sequences, 32 padded, 4.2 % pad tokens"]


# ------------------------------------------------------------------ size_control


class _FakeStore:
    def __init__(self, path: str):
        self.path = path

    def __enter__(self) -> _FakeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _size_control(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path, space: str,
                  targets: str, results: dict[float, dict], accs: dict[float, float]) -> tuple[list[str], dict]:
    mod = load_script("size_control", "tmisc")
    calls: dict[str, list] = {"search": [], "extras": [], "write": []}

    def run_search(space_, dataset, **kw):
        calls["search"].append((space_, dataset, kw))
        return search_result(space=space_, dataset=dataset, **results[kw["target_params"]])

    def nb201_extras(res, data_dir):
        calls["extras"].append(data_dir)
        return {"test_accuracy": accs[res.params_m], "datasets": {}}

    monkeypatch.setattr(mod, "run_search", run_search)
    monkeypatch.setattr(mod, "nb201_extras", nb201_extras)
    monkeypatch.setattr(mod, "write_result", lambda res, out: calls["write"].append((dict(res.extra), out)))
    monkeypatch.setattr(mod, "ScoreStore", _FakeStore)
    run_main(mod, monkeypatch, "--space", space, "--targets", targets, "--seed", "3", "--data-dir", "D", "--store",
             "S.sqlite", "--out", str(tmp_path))
    return capsys.readouterr().out.splitlines(), calls


def test_size_control_nb201_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture) -> None:
    cell = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"
    results = {0.4: dict(mu=138.63, sigma=192.24, params_m=0.40012, macs_m=54.98, fitness=-3.14159, evaluations=220,
                         wall_seconds=58.7, best=cell),
               0.8: dict(mu=218.6, sigma=478.1, params_m=0.8297, macs_m=117.94, fitness=12345.6, evaluations=206,
                         wall_seconds=39.4, best=cell),
               1.2: dict(mu=298.56, sigma=891.9, params_m=1.2891, macs_m=184.7, fitness=0.000123456, evaluations=202,
                         wall_seconds=10.6, best=cell)}
    accs = {0.40012: 92.6412, 0.8297: 91.37, 1.2891: 93.66}
    lines, calls = _size_control(monkeypatch, capsys, tmp_path, "nb201", "0.4,0.8,1.2", results, accs)
    # formats by hand: μ, σ .1f; size .3f; MACs .1f; fitness .4g (-3.142, 1.235e+04, 0.0001235); seconds .0f
    assert lines == [f"target 0.4M -> 0.400M: {cell}", f"target 0.8M -> 0.830M: {cell}",
                     f"target 1.2M -> 1.289M: {cell}", "",
                     "| target (M) | μ (k) | σ (k²) | found size (M) | multiply-adds (M) | fitness | evaluations | s |"
                     " test acc |",
                     "|---|---|---|---|---|---|---|---|---|",
                     "| 0.4 | 138.6 | 192.2 | 0.400 | 55.0 | -3.142 | 220 | 59 | 92.64 |",
                     "| 0.8 | 218.6 | 478.1 | 0.830 | 117.9 | 1.235e+04 | 206 | 39 | 91.37 |",
                     "| 1.2 | 298.6 | 891.9 | 1.289 | 184.7 | 0.0001235 | 202 | 11 | 93.66 |"]
    assert [(s, d, kw["target_params"], kw["seed"], kw["data_dir"], kw["out"]) for s, d, kw in calls["search"]] == [
        ("nb201", "cifar10", t, 3, "D", tmp_path / f"target_{t}M") for t in (0.4, 0.8, 1.2)]
    assert all(kw["store"].path == "S.sqlite" and kw["progress"] is False for _, _, kw in calls["search"])
    # session 51: the table is swap_reg's (the search's default, best, gave other archs): the script's own default
    assert {kw["fitness"] for _, _, kw in calls["search"]} == {"swap_reg"}
    # each result is written once, with its test accuracy already in `extra`
    assert calls["extras"] == ["D"] * 3
    assert [(e["test_accuracy"], out) for e, out in calls["write"]] == [
        (accs[r["params_m"]], tmp_path / f"target_{t}M") for t, r in results.items()]


def test_size_control_darts_table_has_no_accuracy_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    genotype = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 2),"
                " ('skip_connect', 0), ('sep_conv_3x3', 1), ('dil_conv_3x3', 3), ('max_pool_3x3', 4)], normal_concat="
                "[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3',"
                " 1), ('skip_connect', 2), ('skip_connect', 3), ('skip_connect', 2), ('max_pool_3x3', 1)], "
                "reduce_concat=[2, 3, 4, 5])")
    results = {2.5: dict(mu=42.6, sigma=18.2, params_m=2.7431, macs_m=436.31, fitness=7.5, evaluations=220,
                         wall_seconds=61.2, best=genotype),
               4.5: dict(mu=70.8, sigma=50.1, params_m=4.0384, macs_m=630.77, fitness=-12.0, evaluations=219,
                         wall_seconds=57.5, best=genotype)}
    lines, calls = _size_control(monkeypatch, capsys, tmp_path, "darts", "2.5, 4.5", results, {})
    # 57.5 -> "58": .0f rounds half to even on the binary value, and 57.5 is exact: 58 is the even neighbour
    assert lines == [f"target 2.5M -> 2.743M: {genotype}", f"target 4.5M -> 4.038M: {genotype}", "",
                     "| target (M) | μ (k) | σ (k²) | found size (M) | multiply-adds (M) | fitness | evaluations | s |",
                     "|---|---|---|---|---|---|---|---|",
                     "| 2.5 | 42.6 | 18.2 | 2.743 | 436.3 | 7.5 | 220 | 61 |",
                     "| 4.5 | 70.8 | 50.1 | 4.038 | 630.8 | -12 | 219 | 58 |"]
    assert calls["extras"] == [] and [e for e, _ in calls["write"]] == [{}, {}]


# ------------------------------------------------------------------ nb201_iso_sizes


def _write_nb201(root: Path, rows: list[tuple[str, str]]) -> Path:
    (root / "nb201").mkdir(parents=True)
    with open(root / "nb201" / "nb201_all_15625.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["index", "arch_str", "params_M_c10"])
        w.writerows((i, arch, size) for i, (arch, size) in enumerate(rows))
    return root


def test_nb201_iso_sizes_on_hand_worked_cells(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = [
        # A and B: node 1 = conv3(0); node 2 = none + node 1 (A: a skip from node 1; B: its own conv3 of node 0) are
        # both "#+(0)@nor_conv_3x3", and node 3 is the same above them: one key, two sizes (nb201.iso_key's example)
        ("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~2|", "0.34435"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~2|", "0.58739"),
        # C and D: node 1 is zero, so conv3 or skip of it is zero too: node 2 = "#+#", node 3 = skip(0) + 2 zeros;
        # one key, one size
        ("|none~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|", "0.07331"),
        ("|none~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|none~2|", "0.07331"),
        # E: every edge a skip: a key of its own
        ("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|", "0.07331"),
    ]
    load_script("nb201_iso_sizes", "tmisc").main(str(_write_nb201(tmp_path, rows)))
    # built: C's conv3 of the zero node 1 is built (its parameters count), so C and D differ in built size, and C's
    # table size (D's, as the real table's 150 wrong entries are) is off by that conv and within 1,000 of D's
    assert capsys.readouterr().out.splitlines() == [
        "3 iso_key classes; 1 hold more than one params_M_c10; 2 more than one built size; 1 archs whose params_M_c10 "
        "differs from the built size, 1 of them within 1,000 parameters of the built size of an arch of their class"]


def test_nb201_iso_sizes_on_the_real_table_matches_its_iso_column(data_dir: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    with open(data_dir / "nb201" / "nb201_all_15625.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    ops = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    every = {"|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*c) for c in itertools.product(ops, repeat=6)}
    assert {r["arch_str"] for r in rows} == every  # the table holds each of the 15,625 cells once
    # the benchmark's own isomorphism column (the convention iso_key follows), sizes compared as numbers
    sizes: dict[str, set[float]] = collections.defaultdict(set)
    for r in rows:
        sizes[r["isomorph_unique_str"]].add(float(r["params_M_c10"]))
    mixed = sum(len(v) > 1 for v in sizes.values())
    load_script("nb201_iso_sizes", "tmisc").main(str(data_dir))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{len(sizes)} iso_key classes; {mixed} hold more than one params_M_c10; ")
    assert out == ["6466 iso_key classes; 568 hold more than one params_M_c10; 578 more than one built size; 150 archs "
                   "whose params_M_c10 differs from the built size, 150 of them within 1,000 parameters of the built "
                   "size of an arch of their class"]  # docs/search.md, docs/protocol.md, docs/reliability.md


def test_flexibert_search_table_refuses_a_folder_without_searches_or_without_benchmark_figures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    mod = load_script("flexibert_search_table", "tmisc_empty")
    with pytest.raises(SystemExit):  # was an UnboundLocalError on `task`
        run_main(mod, monkeypatch, str(tmp_path))
    assert capsys.readouterr().err.endswith(f"error: {tmp_path} holds no search outputs FITNESS_sSEED/result.json "
                                            "(swapnas search --out)\n")
    (tmp_path / "best_s0").mkdir()
    (tmp_path / "best_s0" / "result.json").write_text(json.dumps({"dataset": "glue", "fitness_proxy": "x@1"}))
    with pytest.raises(SystemExit):  # was a KeyError on 'extra'
        run_main(mod, monkeypatch, str(tmp_path))
    assert capsys.readouterr().err.endswith(f"error: {tmp_path / 'best_s0' / 'result.json'} has no benchmark figures "
                                            "('extra'): the search ran without the data bundle\n")


def test_flexibert_search_table_lists_seeds_in_numeric_order(tmp_path: Path, small_bundle: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture) -> None:
    # session 49: the folders were read in path order, so seed 10 came between seeds 1 and 2
    runs = tmp_path / "runs"
    for seed in (0, 1, 2, 10):
        (runs / f"best_s{seed}").mkdir(parents=True)
        write_result(_flexibert_result(seed, "swap_ext_layers", 70.0 + seed, 0, 1, 1.0), runs / f"best_s{seed}")
    row = _search_table(runs, small_bundle, monkeypatch, capsys)[2]
    assert row.split(" | ")[3] == "70.00, 71.00, 72.00, 80.00"


@pytest.mark.parametrize("targets, error", [
    ("0.4,x", "'0.4,x': give sizes in millions of parameters, e.g. 0.4,0.8,1.2"),
    ("0.4,0", "'0.4,0': every size must be > 0 million parameters")])
def test_size_control_refuses_bad_targets_before_any_search(targets: str, error: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture) -> None:
    # session 49: "0.4,x" ran the 0.4 M search first, then stopped on float("x")
    with pytest.raises(SystemExit) as exc:
        _size_control(monkeypatch, capsys, tmp_path, "nb201", targets, {}, {})
    assert exc.value.code == 2 and capsys.readouterr().err.endswith(f"argument --targets: {error}\n")
