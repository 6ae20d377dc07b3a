"""The --executor options of correlate, grid and search: checked, turned into an executor's kind and options
(:func:`executor_plan`), and started (:func:`executor_of`); out of :mod:`.commands` in session 53."""

from __future__ import annotations

import argparse
import logging
import os
import sys

import torch

from ..devices import resolve_device
from ..executors import Executor, make_executor, usable_cores
from ..malloc import pad_mib
from .args import workers_int


log = logging.getLogger(__name__)

#: the most workers a process pool takes on Windows (its wait on process handles)
WINDOWS_MAX_WORKERS = 61


def default_workers(device: torch.device) -> int:
    """Local scoring processes when --workers is not given: one per usable core on a CPU
    (``$SWAPNAS_WORKERS`` overrides it), one on a GPU; on Windows at most 61, the most its process pools take."""
    if device.type != "cpu":
        return 1
    env = os.environ.get("SWAPNAS_WORKERS", "").strip()
    if env:  # as --workers takes it (session 67: "²" passed isdigit and 99999 the flag's ceiling)
        try:
            return workers_int(env)
        except argparse.ArgumentTypeError:
            raise ValueError(f"$SWAPNAS_WORKERS must be an integer in 1..1024, the scoring processes (got {env!r})"
                             ) from None
    return min(usable_cores(), WINDOWS_MAX_WORKERS if sys.platform == "win32" else sys.maxsize)


def executor_of(args: argparse.Namespace) -> tuple[Executor, torch.device]:
    """The executor and the device the archs are scored on, from the --executor options (:func:`executor_plan`)."""
    kind, options, device = executor_plan(args)
    return make_executor(kind, **options), device


def executor_plan(args: argparse.Namespace) -> tuple[str, dict, torch.device]:
    """The executor's kind and options and the device the archs are scored on, from the --executor options, each
    checked, and no executor started: correlate and grid start it once they hold OUT (session 53: a Ray run was
    refused a busy OUT only once Ray was up, and one started first lost OUT to a later one). Local scoring uses
    --threads torch threads per worker (this process's too, when --workers is 1)."""
    pad_mib()  # a bad $SWAPNAS_MALLOC_PAD_MIB is refused here, before any worker starts
    if args.executor == "local":
        given = [o for o, v in (("--address", args.address), ("--ray-cpus", args.ray_cpus),
                                ("--ray-gpus", args.ray_gpus)) if v is not None]
        if given:
            raise ValueError(f"{', '.join(given)} only appl{'ies' if len(given) == 1 else 'y'} with --executor ray")
        device = resolve_device(args.device)
        workers = args.workers or (1 if args.prefetch else default_workers(device))
        if sys.platform == "win32" and workers > WINDOWS_MAX_WORKERS:  # Python's own refusal came at pool start
            raise ValueError(f"{workers} scoring workers (--workers or $SWAPNAS_WORKERS): Windows' process pools take "
                             f"at most {WINDOWS_MAX_WORKERS}")
        if device.type == "cpu" and workers * args.threads > usable_cores():  # session 56: 6 workers on 2 cores: 18 s, not 5
            log.warning("%d scoring workers × %d torch thread(s) on %d usable core(s): each worker is a torch process, "
                        "and more of them than cores only share the cores (slower, more memory); give --workers %d",
                        workers, args.threads, usable_cores(), max(1, usable_cores() // args.threads))
        torch.set_num_threads(args.threads)  # (this process's heap pad is cli._main's: search_arch's caller keeps its)
        return "local", {"prefetch": args.prefetch, "workers": workers, "threads": args.threads}, device
    if args.workers is not None:
        raise ValueError("--workers applies to --executor local (Ray sizes its own workers: --ray-cpus)")
    if args.prefetch:
        raise ValueError("--prefetch applies to --executor local (each Ray worker builds its own networks)")
    if args.device == "mps":  # (session 67: scored on cpu without a word)
        raise ValueError("--device mps with --executor ray: Ray's workers score on cpu or cuda; give --device cpu, or "
                         "--executor local for mps")
    if args.device.startswith("cuda:"):  # (session 67: dropped without a word)
        log.warning("--device %s with --executor ray: Ray gives each task its GPU, so the index is not used",
                    args.device)
    gpus = args.ray_gpus
    if gpus is None:  # the workers' device; this machine need not have one when --address is a cluster
        cuda = args.device.startswith("cuda") or (args.device == "auto" and torch.cuda.is_available())
        gpus = 1.0 if cuda else 0.0
    elif gpus == 0 and args.device.startswith("cuda"):
        raise ValueError("--device cuda with --executor ray needs --ray-gpus > 0")
    if gpus > 0 and args.device == "cpu":
        raise ValueError("--ray-gpus > 0 scores on cuda; drop --device cpu")
    options = {"address": args.address, "num_cpus": args.ray_cpus, "num_gpus_per_task": gpus}
    return "ray", options, torch.device("cuda" if gpus > 0 else "cpu")
