"""Cost of swap_score against one plain forward pass, on NB201 networks.

Prints, per network configuration: median forward time, median swap_score time, the
median over archs of each arch's swap_score / forward ratio (not the quotient of the two
medians), and memory (CUDA: peak allocated bytes of each; CPU: the packed pattern bytes
against the float pattern matrix a naive scorer would hold).

    python perf/swap_cost.py [--device auto] [--archs 20] [--repeat 9]
    python perf/swap_cost.py --profile   # torch.profiler table of swap_score, default net
    python perf/swap_cost.py --device cpu --only default   # the default net alone
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch
from torch import nn

from swapnas.scoring import gaussian_init
from swapnas.spaces import nb201
from swapnas.patterns import hooked_activations, swap_score

CONFIGS = [  # (label, C, N, S)
    ("full net C16 N5, S=64", 16, 5, 64),
    ("default C16 N1, S=16", 16, 1, 16),
    ("full net C16 N5, S=256", 16, 5, 256),
]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_pair(f, g, device: torch.device, repeat: int) -> tuple[float, float]:
    """Median times of ``f`` and ``g``, run alternately (f, g, f, g, ...) so that drift in the
    machine's speed hits both alike."""
    f(), g()  # warm-up
    tf, tg = [], []
    for _ in range(repeat):
        for fn, out in ((f, tf), (g, tg)):
            _sync(device)
            t = time.perf_counter()
            fn()
            _sync(device)
            out.append(time.perf_counter() - t)
    return statistics.median(tf), statistics.median(tg)


def _peak(fn, device: torch.device) -> int | None:
    if device.type != "cuda":
        return None
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    fn()
    _sync(device)
    return torch.cuda.max_memory_allocated(device) - base


def _pattern_bytes(net: nn.Module, x: torch.Tensor) -> tuple[int, int]:
    """(bytes of every hooked neuron's pattern packed at one bit per sample, bytes of a float32 V×S pattern matrix):
    the same neurons on both sides. ``swap_score`` itself holds fewer packed bytes (it skips a repeated map and packs
    no rows at S <= 20), so the first is an upper bound on its pattern memory."""
    with hooked_activations(net) as maps, torch.no_grad():
        net(x)
    packed = sum(m.numel() * m.element_size() for m in maps)
    neurons = sum(m.shape[0] for m in maps)
    return packed, neurons * x.shape[0] * 4


def _profile(archs: list, device: torch.device) -> None:
    from torch.profiler import ProfilerActivity, profile

    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0)).to(device)
    nets = []
    for a in archs:
        net = nb201.build(a, C=16, N=1)
        gaussian_init(net, torch.Generator().manual_seed(1))
        nets.append(net.to(device).train())
        swap_score(nets[-1], x)  # warm-up
    kinds = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=kinds) as prof:
        for _ in range(5):
            for net in nets:
                swap_score(net, x)
    print(f"swap_score on the default net (C=16, N=1, S=16), {len(nets)} archs x 5, {device}:")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (the words of swapnas.cli.args.positive_int; defined here, since
    perf/ab_swap_overhead.sh runs this script under older source trees, where that module may not exist)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {v})")
    return v


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--archs", type=positive_int, default=20)
    ap.add_argument("--repeat", type=positive_int, default=9)
    ap.add_argument("--profile", action="store_true", help="only profile swap_score on the default net (5 archs × 5)")
    ap.add_argument("--resolution", type=int, default=32,
                    help="input height and width (small: overhead-bound, as small networks on a GPU)")
    ap.add_argument("--only", default="", help="only the configurations whose label holds this text (e.g. default)")
    args = ap.parse_args()
    if not any(args.only in c[0] for c in CONFIGS):
        ap.error(f"--only {args.only!r} matches no configuration: {', '.join(repr(c[0]) for c in CONFIGS)}")
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    rng = random.Random(0)
    archs = [nb201.sample(rng) for _ in range(args.archs)]
    if args.profile:
        _profile(archs[:5], device)
        return
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name} | torch {torch.__version__} | {args.archs} NB201 archs (random.Random(0)), "
          f"{args.resolution}x{args.resolution} inputs, forward and swap_score alternated, median of "
          f"{args.repeat} runs each; times are medians over archs, "
          "ratio the median over archs of each arch's swap/forward (not the quotient of the two time columns)")
    print(f"{'config':<24} {'forward ms':>10} {'swap ms':>9} {'ratio':>6} {'mem':>34}")
    for label, C, N, S in [c for c in CONFIGS if args.only in c[0]]:
        x = torch.randn(S, 3, args.resolution, args.resolution, generator=torch.Generator().manual_seed(0)).to(device)
        fwd, swp, ratios, mem = [], [], [], []
        for a in archs:
            net = nb201.build(a, C=C, N=N)
            gaussian_init(net, torch.Generator().manual_seed(1))
            net = net.to(device).train()

            def forward(net=net) -> None:
                with torch.no_grad():
                    net(x)

            def score(net=net) -> None:
                swap_score(net, x)

            f, s = _time_pair(forward, score, device, args.repeat)
            fwd.append(f)
            swp.append(s)
            ratios.append(s / f)
            if device.type == "cuda":
                mem.append((_peak(forward, device), _peak(score, device)))
            else:
                mem.append(_pattern_bytes(net, x))
        if device.type == "cuda":
            pf, ps = (statistics.median(m[i] for m in mem) / 2**20 for i in (0, 1))
            mem_txt = f"peak {ps:.1f} MiB swap vs {pf:.1f} MiB fwd"
        else:
            pk, fl = (statistics.median(m[i] for m in mem) / 2**20 for i in (0, 1))
            mem_txt = f"patterns {pk:.2f} MiB packed vs {fl:.1f} MiB float"
        print(f"{label:<24} {statistics.median(fwd) * 1e3:>10.2f} {statistics.median(swp) * 1e3:>9.2f} "
              f"{statistics.median(ratios):>6.2f} {mem_txt:>34}")


if __name__ == "__main__":
    main()
