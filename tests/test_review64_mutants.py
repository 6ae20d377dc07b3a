"""Session 64's mutation testing of the session's lines: tests that kill the non-equivalent mutants the session's
tests left alive (autocast in the command line's scoring, compiled submodules put back, the quantized and exported
checks' names, weight_norm's dim, the drawn tensors of the older hooks, BatchNorm's β, the grid's notes and failure
lines, the accept-code exit and JSON document, arch_reader's shapes, space_inputs' sources, load_genotype's file)."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import swapnas
from swapnas import SaturationWarning
from tests.test_audit64_models import _compiled


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore", SaturationWarning)


# --- swap_checks.uncompiled -------------------------------------------------------------------------------------------

def test_swap_score_puts_a_compiled_submodule_back() -> None:
    """SC2 (uncompiled's finally restores nothing): swap_score scores the caller's own model, so the compiled
    submodule it swapped for its eager module must be back afterwards (documented: 'put back after')."""
    body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    compiled = _compiled(body)
    model = nn.Sequential(compiled, nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
    swapnas.swap_score(model, torch.randn(4, 3, 6, 6))
    assert model[0] is compiled


def test_swap_score_puts_a_compiled_submodule_back_on_error() -> None:
    """SC2, the error path: the model is put back even where the pass fails."""
    body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    compiled = _compiled(body)
    model = nn.Sequential(compiled, nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
    with pytest.raises(Exception):
        swapnas.swap_score(model, torch.randn(4, 5, 6, 6))  # 5 channels for a 3-channel conv
    assert model[0] is compiled


# --- swap_checks.scripted (exported) / quantized ----------------------------------------------------------------------

def test_an_exported_submodule_is_named_in_the_refusal() -> None:
    """SC6 (the exported branch's `which` always the top class): a model holding an exported module names it."""
    from swapnas.swap_checks import scripted

    inner = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    try:
        exported = torch.export.export(inner, (torch.randn(2, 3, 6, 6),)).module()
    except Exception as exc:  # noqa: BLE001 - a torch without export
        pytest.skip(f"torch.export: {exc}")
    why = scripted(nn.Sequential(exported, nn.Flatten()))
    assert why is not None and why.startswith("an exported module (its submodule '0',"), why


def test_a_user_module_named_quantized_is_not_a_quantized_layer() -> None:
    """SC9 (the torch. prefix check dropped): only torch's own quantized modules are refused; a module of one's own
    living in a package named `...quantized` with a `_packed_params` attribute is not."""
    from swapnas.swap_checks import quantized

    class Mine(nn.Linear):
        pass

    Mine.__module__ = "myproject.quantized.layers"
    m = Mine(4, 4)
    m._packed_params = None  # an attribute of one's own, whatever its meaning
    assert quantized(nn.Sequential(m, nn.ReLU())) is None


def test_a_model_holding_quantized_tensors_only_is_refused() -> None:
    """SC10 (the is_quantized check dropped): a model with a quantized buffer but no torch quantized layer is
    refused, saying 'quantized tensors'."""
    from swapnas.swap_checks import quantized

    m = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.register_buffer("q", torch.quantize_per_tensor(torch.randn(4), 0.1, 0, torch.qint8))
    why = quantized(m)
    assert why is not None and why.startswith("a quantized model (quantized tensors)"), why


def test_a_quantized_model_with_many_layers_names_three_and_an_ellipsis() -> None:
    """SC11 (`len(names) > 3` changed): four quantized layers name the first three and then '…'; three name all."""
    from swapnas.swap_checks import quantized

    def q(n: int) -> nn.Module:
        mlp = nn.Sequential(*[nn.Linear(4, 4) for _ in range(n)])
        return torch.ao.quantization.quantize_dynamic(mlp, {nn.Linear}, dtype=torch.qint8)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        four, three = quantized(q(4)), quantized(q(3))
    assert four is not None and four.startswith("a quantized model (layers 0, 1, 2 …)"), four
    assert three is not None and three.startswith("a quantized model (layers 0, 1, 2)"), three


# --- reparam.set_through_hook -----------------------------------------------------------------------------------------

def _cnn() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))


@pytest.mark.parametrize("dim", [1, None])
def test_weight_norm_over_another_dim_is_drawn_as_the_plain_layer(dim: int | None) -> None:
    """R4 (weight_norm's g taken over dim 0 whatever the hook's dim): the old weight_norm(conv, dim=1) or dim=None
    is drawn through g and v as with dim=0; the score equals the plain network's (g·v/|v| is the draw)."""
    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 4, (16,))
    base = _cnn()
    m = _cnn()
    m.load_state_dict(base.state_dict())
    nn.utils.weight_norm(m[2], dim=dim)
    for seed in (0, 1):
        assert swapnas.score(m, (x, y), "swap", seed=seed)["swap"] == swapnas.score(base, (x, y), "swap",
                                                                                     seed=seed)["swap"]
    got = swapnas.score(m, (x, y), ["synflow"], seed=0)["synflow"]
    assert got == pytest.approx(swapnas.score(base, (x, y), ["synflow"], seed=0)["synflow"], rel=1e-4)


# --- scoring._score_base under a caller's autocast (search_arch / a session called inside torch.autocast) -------------

def test_a_session_score_under_the_callers_autocast_is_the_same() -> None:
    """D6 (without_autocast dropped from scoring._score_base): nwot's exact kernel scored through score_arch (what
    search_arch and correlate run) inside a caller's CPU bfloat16 autocast gave 110.37903 for 110.37765."""
    from swapnas.data import Batch
    from swapnas.proxies import get_proxy
    from swapnas.scoring import Protocol, score_arch

    g = torch.Generator().manual_seed(0)
    batch = Batch(torch.randn(16, 4, 16, 16, generator=g), torch.randint(0, 2, (16,), generator=g), 2, "cifar10",
                  "noise", 0)
    prot = Protocol("nb201", "cifar10", 16, repeats=1, init="default", net={})

    def build(arch: object, num_classes: int, **net: object) -> nn.Module:
        return nn.Sequential(nn.ReLU(), nn.Conv2d(4, 4, 1, bias=False), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                             nn.Flatten(), nn.Linear(4, num_classes))

    cpu = torch.device("cpu")
    want = score_arch("a", build, [get_proxy("nwot")], batch, prot, cpu)["nwot"]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = score_arch("a", build, [get_proxy("nwot")], batch, prot, cpu)["nwot"]
    assert want.ok and got.ok and got.values == want.values


@pytest.mark.parametrize("form", ["weight_norm", "spectral_norm", "prune"])
def test_gaussian_init_leaves_a_hooked_weight_holding_its_new_value(form: str) -> None:
    """R5 (set_through_hook's weight_norm branch no longer recomputes the tensor): swapnas.gaussian_init is public;
    right after it, a hook-based layer's `weight` is the drawn one (the plain layer's draw; over σ for spectral_norm;
    masked for prune), not the caller's old value until the next forward."""
    from torch.nn.utils import prune

    base, m = _cnn(), _cnn()
    m.load_state_dict(base.state_dict())
    old = m[2].weight.detach().clone()
    if form == "weight_norm":
        nn.utils.weight_norm(m[2])
    elif form == "spectral_norm":
        nn.utils.spectral_norm(m[2])
    else:
        prune.l1_unstructured(m[2], "weight", 0.0)
    swapnas.gaussian_init(base, torch.Generator().manual_seed(0))
    swapnas.gaussian_init(m, torch.Generator().manual_seed(0))
    got = m[2].weight.detach()
    assert not torch.allclose(got, old)
    want = base[2].weight.detach()
    if form == "spectral_norm":  # the draw over its (power-iteration estimate of) σ: the same direction
        got, want = got / got.norm(), want / want.norm()
    assert torch.allclose(got, want, rtol=1e-3, atol=1e-5)


def test_gaussian_init_keeps_a_pruned_weights_mask() -> None:
    """R7 (set_through_hook's prune branch sets the tensor to the unmasked original): right after gaussian_init a
    half-pruned layer's weight is the draw with its mask applied (its pruned entries 0), and the score of such a
    layer equals that of a plain layer holding the masked draw in the forward (the mask is kept)."""
    from torch.nn.utils import prune

    base, m = _cnn(), _cnn()
    m.load_state_dict(base.state_dict())
    prune.l1_unstructured(m[2], "weight", 0.5)
    mask = m[2].weight_mask.clone()
    swapnas.gaussian_init(base, torch.Generator().manual_seed(0))
    swapnas.gaussian_init(m, torch.Generator().manual_seed(0))
    assert torch.equal(m[2].weight_mask, mask)
    assert torch.allclose(m[2].weight.detach(), base[2].weight.detach() * mask)
    assert int((m[2].weight == 0).sum()) == int((mask == 0).sum())


# --- grid.markdown's failure and notes lines, run_grid's one warning, report.filled_line ------------------------------

def _grid_result(proxy: str, **over) -> dict:
    import math
    from dataclasses import asdict

    from swapnas.results import ProxyResult

    nan = math.nan
    r = ProxyResult(proxy, f"{proxy}@1", "nb201", "cifar10", 10, 0, 0.5, 0.4, (0.1, 0.8), nan, nan, 0.01, True)
    return {**asdict(r), **over}


def _grid_column(results: list[dict], hidden: list[str] | None = None):
    from swapnas.grid import GridColumn

    protocol = {"net": {"C": 16, "N": 1}, "batch_size": 4, "repeats": 1, "init": "gaussian", "seed": 0}
    return GridColumn("nb201", "cifar10", "valid acc", protocol, "", 10, 1.0, results, hidden=hidden or [])


def test_grid_failure_line_of_a_metric_with_its_own_row_is_not_called_a_hidden_part() -> None:
    """G5 (_part_named's `proxy in names` return dropped): jacob_cov named beside vkdnw_agg has its own row, so its
    failure line is plain `jacob_cov: …`, not "(a part of vkdnw_agg, without a row of its own …)"."""
    from swapnas.grid import markdown

    err = "ValueError: jacob_cov Jacobians: row(s) [0] are constant"
    col = _grid_column([_grid_result("vkdnw_agg", filled=1, n=30),
                        _grid_result("jacob_cov", n=29, failures=1, errors=[err])], hidden=[])
    text = markdown([col])
    (line,) = [x for x in text.splitlines() if "jacob_cov Jacobians" in x]
    assert line.startswith("- nb201/cifar10 jacob_cov: ValueError"), line
    assert "without a row" not in text, text


def test_grid_failure_line_of_a_hidden_part_says_its_metric_counted_it_at_its_worst_value() -> None:
    """G6 (`filled` emptied): a hidden jacob_cov's failure says vkdnw_agg counted it at its worst value (its
    fill_failed); a hidden te_nas_ntk's does not (te_nas fills nothing)."""
    from swapnas.grid import markdown

    col = _grid_column([_grid_result("vkdnw_agg", filled=1, n=30),
                        _grid_result("jacob_cov", n=29, failures=1, errors=["ValueError: x"])],
                       hidden=["az_nas_expressivity", "az_nas_trainability", "flops", "jacob_cov", "vkdnw",
                               "vkdnw_layers"])
    text = markdown([col])
    assert "- nb201/cifar10 jacob_cov (a part of vkdnw_agg, without a row of its own; vkdnw_agg counted it at its " \
        "worst value there): ValueError: x" in text, text
    col = _grid_column([_grid_result("te_nas", n=9, failures=1, errors=["part failed: te_nas_ntk: ValueError: y"]),
                        _grid_result("te_nas_ntk", n=9, failures=1, errors=["ValueError: y"])],
                       hidden=["te_nas_lr", "te_nas_ntk"])
    assert "- nb201/cifar10 te_nas_ntk (a part of te_nas, without a row of its own): ValueError: y" \
        in markdown([col])


def test_grid_saturated_note_gives_the_columns_batch_size() -> None:
    """G9 (the column's batch size replaced by 'the batch size'): the grid has no --batch-size, so its SATURATED note
    says the S of that column's protocol."""
    from swapnas.grid import GRID_SATURATED_FIX, markdown

    text = markdown([_grid_column([_grid_result("swap", saturated=7)])])
    (line,) = [x for x in text.splitlines() if "SATURATED" in x]
    assert line.startswith("- nb201/cifar10 SATURATED swap: 7 of 10 archs score >= 95% of the 2**S ceiling (S = 4; ")
    assert GRID_SATURATED_FIX in line


def test_run_grid_gives_the_mixing_warning_once_per_space(monkeypatch, tmp_path) -> None:
    """G13 (run_grid calls _column_init without its `warned` set): two darts columns with `best` beside another metric
    give the protocol warning once, not once per column."""
    import swapnas.grid as grid
    from swapnas.results import CorrelateRun, ProxyResult
    from swapnas.store import ScoreStore
    from tests.conftest import SMALL_BUNDLE

    def fake(**kw):
        nan = float("nan")
        results = [ProxyResult(p.name, p.key, kw["bench"].name, kw["task"], 3, 0, 0.5, 0.5, (nan, nan), nan, nan,
                               0.1, p.higher_is_better) for p in kw["proxies"]]
        return CorrelateRun(kw["protocol"].describe(), "gt", "", results, {}, [1.0, 2.0, 3.0], ["a", "b", "c"], 0.0)

    monkeypatch.setattr(grid, "correlate_proxies", fake)
    with warnings.catch_warnings(record=True) as caught, ScoreStore(tmp_path / "s.sqlite") as store:
        warnings.simplefilter("always")
        grid.run_grid([("nb301", "cifar10"), ("darts_swap", "cifar10")], proxies="best,params", n_archs=3, seed=0,
                      repeats=1, store=store, device=torch.device("cpu"), data_dir=str(SMALL_BUNDLE),
                      progress=False)
    mixing = [w for w in caught if "scored under the grid's SWAP protocol" in str(w.message)]
    assert len(mixing) == 1, [str(w.message) for w in caught]


def test_filled_line_agrees_in_number() -> None:
    """RP3 (has/have swapped)."""
    from swapnas.report import filled_line

    assert filled_line("vkdnw_agg", 1, 30).startswith("FILLED vkdnw_agg: 1 of its 30 scored archs has a part that "
                                                      "failed (jacob_cov), counted at that part's worst value")
    assert "2 of its 30 scored archs have a part" in filled_line("vkdnw_agg", 2, 30)


# --- inits.gaussian_init on BatchNorm ---------------------------------------------------------------------------------

def test_gaussian_init_resets_batchnorm_to_identity() -> None:
    """I5/I7 (BatchNorm's weight filled with another value / its bias left alone): N(0, 1) init sets every affine
    BatchNorm to γ = 1, β = 0 and resets its running statistics, plain or pruned."""
    from torch.nn.utils import prune

    for pruned in (False, True):
        m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        with torch.no_grad():
            m[1].weight.fill_(-3.0)
            m[1].bias.fill_(2.0)
            m[1].running_mean.fill_(5.0)
        if pruned:
            prune.identity(m[1], "weight")
            prune.identity(m[1], "bias")
        swapnas.gaussian_init(m, torch.Generator().manual_seed(0))
        assert torch.equal(m[1].weight.detach(), torch.ones(4)), pruned
        assert torch.equal(m[1].bias.detach(), torch.zeros(4)), pruned
        assert torch.equal(m[1].running_mean, torch.zeros(4)), pruned


# --- code_changes._outside / _own_space -------------------------------------------------------------------------------

def test_a_metric_of_a_package_whose_name_starts_with_swapnas_is_outside() -> None:
    """CC7 (`startswith("swapnas")` for `"swapnas."`): a plugin package `swapnas_extra` is not swapnas's own code, so
    its metric's accepting command is its script, not `swapnas`."""
    import types

    from swapnas.code_changes import _outside, _own_space

    def fn() -> None:
        pass

    fn.__module__ = "swapnas_extra.metrics"
    assert _outside(types.SimpleNamespace(fn=fn))
    fn.__module__ = "swapnas.proxies.swap"
    assert not _outside(types.SimpleNamespace(fn=fn))
    mod = types.SimpleNamespace
    assert _own_space([mod(__name__="swapnas.spaces.nb201"), mod(__name__="swapnas_extra.space")])
    assert not _own_space([mod(__name__="swapnas.spaces.nb201"), mod(__name__="swapnas.spaces.cells")])


# --- cli.commands.store accept-code's exit ----------------------------------------------------------------------------

def test_accept_code_of_a_metric_already_recorded_as_running_succeeds(tmp_path, capsys) -> None:
    """CM2 (`report.unchanged` left out of what counts as done): a named metric whose recorded code is already the
    running code needs no accepting; the command says so and exits 0."""
    from swapnas.cli import main
    from swapnas.proxies import get_proxy
    from swapnas.proxies.code import code_digest
    from swapnas.store import ScoreStore

    p = get_proxy("swap")
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as s:
        s.accept_code(f"swap@{p.version}", code_digest(p.fn))
    code = main(["store", "accept-code", str(path), "swap"])
    out = capsys.readouterr()
    assert "already the code that runs now" in out.out, out
    assert code == 0, out.err


def test_accept_code_json_of_a_name_it_cannot_accept_is_one_error_document(tmp_path, capsys) -> None:
    """CM3/CM4 (the JSON's error and the early exit keyed on a damaged store only): `store accept-code STORE swap
    --json` where the store holds only an older swap@0 prints one JSON document carrying the error and exit 2, and
    the error once on stderr."""
    import json

    from swapnas.cli import main
    from swapnas.store import ScoreStore

    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as s:
        s.accept_code("swap@0", "1" * 16)
    try:
        code = main(["store", "accept-code", str(path), "swap", "--json"])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    doc = json.loads(out)  # one document
    assert code == 2 and doc["exit"] == 2 and doc["error"].startswith("swap not accepted"), (code, doc)
    assert err.count("swap not accepted") == 1, err


# --- spaces.arch_reader -----------------------------------------------------------------------------------------------

def test_a_space_without_naslib_keys_reads_with_its_own_parse_and_error() -> None:
    """SP1 (the `parse_naslib is None` shortcut dropped): flexibert has no NASLib keys; a text shaped like a list
    gets flexibert.parse's own error, not "as NASLib's key: 'NoneType' object is not callable"."""
    from swapnas.spaces import arch_reader, flexibert

    with pytest.raises(Exception) as own:
        flexibert.parse("[1, 2]")
    with pytest.raises(Exception) as got:
        arch_reader(flexibert)("[1, 2]")
    assert type(got.value) is type(own.value) and str(got.value) == str(own.value)
    assert "NoneType" not in str(got.value) and "NASLib" not in str(got.value)


def test_a_mistyped_nb201_naslib_tuple_key_is_told_what_is_wrong_with_it() -> None:
    """SP2 (only '[' taken for a NASLib key's shape): NASLib's NB201 keys are tuples; a mistyped one (op index 9)
    gets the key reader's error, not nb201.parse's "must have 3 node groups"."""
    from swapnas.spaces import arch_reader, nb201

    read = arch_reader(nb201)
    assert read("(0, 1, 2, 3, 4, 0)") == nb201.parse_naslib("(0, 1, 2, 3, 4, 0)")
    with pytest.raises(ValueError, match=r"as NASLib's key: NASLib NB201 key '\(0, 1, 2, 3, 4, 9\)'"):
        read("(0, 1, 2, 3, 4, 9)")
    with pytest.raises(ValueError, match="3 node groups"):
        read("garbage")


def test_arch_reader_falls_back_to_naslib_keys_whatever_a_users_parse_raises() -> None:
    """SP4 (the first except narrowed to ValueError): every shipped parse raises ValueError, but a space of one's own
    whose parse raises KeyError / TypeError / SyntaxError on a NASLib key still has the key read."""
    import types

    from swapnas.spaces import arch_reader

    for exc in (KeyError, TypeError, SyntaxError):
        def parse(text: str, exc: type = exc) -> object:
            raise exc(text)

        module = types.SimpleNamespace(parse=parse, parse_naslib=lambda text: ("key", text))
        assert arch_reader(module)("(1, 2)") == ("key", "(1, 2)"), exc


# --- space_inputs.space_datasets: a space of one's own that names its datasets ----------------------------------------

def test_a_users_space_is_judged_by_its_final_nets_and_its_tasks(monkeypatch) -> None:
    """SI5/SI6/SI9 (FINAL_NETS, TASKS or the benchmarks' tasks left out of `known`): a space of one's own without a
    benchmark is judged by the datasets it names itself; a shipped space with no FINAL_NETS/TASKS by its benchmarks'."""
    from types import SimpleNamespace

    from swapnas import space_inputs
    from swapnas.data import DATASETS

    real = space_inputs.get_space
    monkeypatch.setattr(space_inputs, "get_space", lambda name: SimpleNamespace(FINAL_NETS={"cifar10": {}}))
    assert space_inputs.space_datasets("mine_images") == ("images", tuple(DATASETS))
    with pytest.raises(ValueError, match="space mine_images's networks read images"):
        space_inputs.check_dataset_for("mine_images", "sst")
    monkeypatch.setattr(space_inputs, "get_space", lambda name: SimpleNamespace(TASKS=("jigsaw", "normal")))
    assert space_inputs.space_datasets("mine_tasks") == ("its tasks' inputs (Taskonomy)", ("jigsaw", "normal"))
    with pytest.raises(ValueError,
                       match=r"--dataset class_object is a Taskonomy task, .*choose one of jigsaw, normal$"):
        space_inputs.check_dataset_for("mine_tasks", "class_object")
    monkeypatch.setattr(space_inputs, "get_space", lambda name: SimpleNamespace())  # nb201 named by its benchmark
    assert space_inputs.space_datasets("nb201") == ("images", tuple(DATASETS))
    monkeypatch.setattr(space_inputs, "get_space", real)
    from swapnas.spaces import transnas_micro  # SI9: a Taskonomy space's own TASKS, in its order (not sorted)

    assert space_inputs.space_datasets("transnas_micro")[1] == tuple(transnas_micro.TASKS)


# --- train.recipe.load_genotype ---------------------------------------------------------------------------------------

def test_load_genotype_reads_a_file_whose_name_starts_with_a_bracket(tmp_path, monkeypatch) -> None:
    """RC2 (the `not Path(s).exists()` guard dropped): a result.json saved as '[run 1].json' in the working folder is
    read as a file, not refused as a malformed NASLib key."""
    import json

    from swapnas.spaces import darts
    from swapnas.train.recipe import load_genotype

    edges = "[(0, 1), (1, 2), (0, 3), (2, 4), (1, 5), (3, 6), (0, 0), (4, 1)]"
    genotype = darts.parse_naslib(f"[{edges}, {edges}]")
    (tmp_path / "[run 1].json").write_text(json.dumps({"best": str(genotype)}))
    monkeypatch.chdir(tmp_path)
    assert load_genotype("[run 1].json") == genotype


# --- cli._Parser.parse_args -------------------------------------------------------------------------------------------

def test_the_nearest_option_is_offered_for_the_first_long_flag_after_a_short_one(tmp_path, capsys) -> None:
    """P2 (the hint's flag taken as the first word starting with '-'): `correlate -z --proxy swap` still offers
    '--proxies' for --proxy (a one-dash word has no long option near it)."""
    from swapnas.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["correlate", "-z", "--proxy", "swap", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "unrecognized arguments: -z --proxy swap; did you mean '--proxies'?" in err, err


def test_a_far_flag_gets_no_hint_and_a_near_one_does(tmp_path, capsys) -> None:
    """P3 (cutoff 0.75 lowered to near_names' default 0.6): --bogus is offered nothing (0.6 offered '--out' or
    '--verbose'), --seeds is offered '--seed'."""
    from swapnas.cli import main

    for flag, hint in (("--bogus", ""), ("--seeds", "; did you mean '--seed'?")):
        with pytest.raises(SystemExit):
            main(["correlate", flag, "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert f"unrecognized arguments: {flag}{hint}\n" in err, err
