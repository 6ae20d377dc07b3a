"""What a search returns (:func:`swapnas.search_arch`, :func:`~swapnas.search.run_search`) and writes to
``result.json``: :class:`SearchResult`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SearchResult:
    """A finished search: the arch it returns, how it was found and, for a benchmark space, how good it is.

    Attributes:
        space, dataset: the search space and the dataset (or FlexiBERT's GLUE task) searched for.
        best: the returned arch in the space's string form (``swapnas.spaces.get_space(space).parse(best)``).
        fitness: its fitness value, the second stage's where one ran (``refine``) and re-scored an arch (where
            every re-score failed, the first stage's: :func:`~swapnas.search.driver.stage_scored`), else the EA's: the
            metric's value (``fitness_proxy``), negated where lower is better (``fitness_negated``), plus ln f(Θ)
            where another fitness than ``swap_reg`` has a size prior (``mu``, ``sigma``); ``history``'s and
            ``snapshots``' too.
        params_m, macs_m: the size of the arch's *final* network (the one a user trains, e.g. NB201 C=16, N=5;
            DARTS C=36, 20 cells), in millions of parameters and of multiply-adds per input.
        evaluations, cycles: fitness evaluations (archs scored by the EA) and EA cycles run.
        wall_seconds: the search's seconds over every resumed run (a ``--target-params`` mapping included).
        seed: the EA's seed; ``config`` its settings (``EAConfig`` as a dict: population, sample, mutations,
            cycles, crossover).
        protocol: the scoring protocol of the fitness (``Protocol.describe()``: network, batch size S, repeats,
            init, inputs, …).
        mu, sigma: the fitness's size prior (``swap_reg``'s; another fitness's, e.g. ``best``'s, only where
            ``--mu/--sigma`` or ``--target-params`` gave one; None without one); ``size_mapping``: how they were
            set, by ``--target-params`` (``target_m``, ``tolerance``, ``final_range_m``, …) or by ``swap_reg``'s
            range rule (``prior_centre``, ``prior_width``, ``proxy_range_k``); None for ``--mu/--sigma`` or none.
        constraints: ``max_params_m`` and ``max_macs_m`` (None where not given).
        history: one dict per evaluation in order: ``evaluation``, ``cycle``, ``arch``, ``fitness``.
        snapshots: one dict per cycle, the initial population's (cycle 0) first: ``evaluations``, ``cycle``,
            ``best``, ``population_mean``, ``population_min`` (the fitness of the population; the search curve's
            data).
        extra: what the benchmark says of ``best``, filled by ``swapnas search`` / ``search_arch`` where the
            space has a benchmark: on NB201 ``valid_accuracy``, ``test_accuracy``, their ``*_rank`` (1 = best; archs
            tied with it share its best rank), ``*_tied``, ``*_optimum`` and ``*_regret`` on the searched dataset,
            and the same for every NB201 dataset under ``datasets``; on FlexiBERT the nearest benchmark arch and
            its score. Empty elsewhere.
        fitness_proxy: the fitness's store key, ``name@version[options]`` (e.g. ``swap@1``; ``best`` appears as
            the proxy it resolves to). A ``result.json`` written before it was recorded reads as ``swap_reg``, the
            only fitness then.
        refine: the second stage (None where none ran): ``k`` archs re-scored, their ``repeats``, ``batch_size``
            and ``net`` (and ``mu``, ``sigma`` for ``swap_reg``, the stage network's prior), and the
            ``shortlist`` (``arch``, first-stage ``fitness``, ``refined`` fitness).
        reused: the evaluations of this run whose fitness was read from the score store (stored by an earlier run on
            the same ``--store``), not computed; a resumed run counts its own (session 60).
        restored: the evaluations a resumed run read back from its saved state (``state.json``), not run again; 0 for
            a new search (session 61).
        stopped_by: the budget flag that stopped the search before its last cycle (``--max-evals`` or
            ``--max-seconds``); None where it ran every cycle (session 61).
        reused_from_other_code: where ``reused`` is not 0, the names (``swap@1``, ``net:nb201@1``) under which the
            store records other code than this run's, with when it recorded it: those fitness values were made by it
            (session 68: said on the terminal alone).
        fitness_negated: whether ``fitness`` is the metric negated (a lower-is-better metric, e.g. ``te_nas_ntk``:
            session 69, a ``result.json`` alone did not say so; one written before reads False).
    """

    space: str
    dataset: str
    best: str
    fitness: float
    params_m: float
    macs_m: float
    evaluations: int
    cycles: int
    wall_seconds: float
    seed: int
    config: dict
    protocol: dict
    mu: float | None
    sigma: float | None
    size_mapping: dict | None
    constraints: dict
    history: list[dict] = field(repr=False)
    snapshots: list[dict] = field(repr=False)
    extra: dict = field(default_factory=dict)
    fitness_proxy: str = "swap_reg"
    refine: dict | None = field(default=None, repr=False)  # the second stage's short list (``stage_text`` sums it up)
    reused: int = 0
    restored: int = 0
    stopped_by: str | None = None
    reused_from_other_code: dict[str, str] = field(default_factory=dict)
    fitness_negated: bool = False
