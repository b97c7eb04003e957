"""Seed-batched training: K runs of one configuration trained as one stacked model, each member
exactly the run it replaces — on CPU, to float tolerance against its single run, bit for bit against itself."""

import importlib
import json
import math

import pytest
import torch

from harness.cli.main import main
from harness.models import GeneratorPlan, build_generator
from harness.models.members import member_view, stack_members
from harness.run.execute import execute_group, execute_run
from harness.train import TrainConfig, TrainingData, fit, seeded
from harness.train.interrupt import RunInterrupted, StopRequest
from harness.train.member import Member
from harness.train.trainer import fit_group
from stability_tests.tiny import TINY_MODEL

module_file = importlib.import_module("harness.train.step")
fit_module = importlib.import_module("harness.train.trainer")

SEEDS = [31, 32, 33]
TIMING_KEYS = ("train_s", "wall_s")


@pytest.fixture(scope="module")
def data(tiny_dataset):
    return TrainingData.from_dataset(tiny_dataset)


def single(data, seed, **settings):
    config = TrainConfig(**{"epochs": 1, "log_grad_norm": True, "grad_clip": 1.0, **settings, "seed": seed})
    with seeded(seed):
        model = build_generator(GeneratorPlan("hybrid", **TINY_MODEL))
        history = fit(model, data, config)
    return model, history


def group(data, seeds=SEEDS, **settings):
    config = TrainConfig(**{"epochs": 1, "log_grad_norm": True, "grad_clip": 1.0, **settings, "seed": seeds[0]})
    singles = []
    for seed in seeds:
        with seeded(seed):
            singles.append(build_generator(GeneratorPlan("hybrid", **TINY_MODEL)))
    stacked = stack_members(build_generator(GeneratorPlan("hybrid", **TINY_MODEL), members=len(seeds)), singles)
    return stacked, fit_group(stacked, data, config, [Member(seed) for seed in seeds])


SETTINGS = {
    "adam-norm": {},
    "adamw-warmup-cosine": {"optimizer": "adamw", "weight_decay": 0.01, "learning_rate": 3e-4,
                            "scheduler": "WarmupCosine", "warmup_epochs": 1, "epochs": 2},
    "agc-unitwise": {"grad_clip": 0.01, "grad_clip_algorithm": "agc"},
    "agc-per-tensor": {"grad_clip": 0.1, "grad_clip_algorithm": "agc-per-tensor"},
    "value": {"grad_clip": 1e-3, "grad_clip_algorithm": "value"},
}


@pytest.mark.integration
@pytest.mark.parametrize("name", SETTINGS)
def test_each_member_is_its_single_run(data, name):
    stacked, histories = group(data, **SETTINGS[name])
    for member, seed in enumerate(SEEDS):
        model, history = single(data, seed, **SETTINGS[name])
        assert len(histories[member].steps) == len(history.steps) > 0
        for mine, theirs in zip(histories[member].steps, history.steps):
            assert mine["step"] == theirs["step"]
            for key in ("loss", "grad_norm_pre", "grad_norm_post"):
                assert mine[key] == pytest.approx(theirs[key], rel=1e-4), (seed, key, mine["step"])
        for key in ("val_loss", "amp_cv", "lr"):
            assert [e[key] for e in histories[member].epochs] == pytest.approx([e[key] for e in history.epochs],
                                                                               rel=1e-4)
        assert relative_distance(member_weights(stacked, member, 3), model) < 1e-4  # the steps move ~1e-2


def member_weights(stacked, member: int, members: int) -> list[torch.Tensor]:
    return [member_view(p.detach(), members)[member] for p in stacked.parameters()]


def relative_distance(weights: list[torch.Tensor], model) -> float:
    """‖w − w_single‖ / ‖w_single‖ over the whole model. Elementwise comparisons would be too strict:
    Adam turns a float-level difference in a near-zero gradient into a step of up to ±lr."""
    mine = torch.cat([torch.view_as_real(w).flatten() if w.is_complex() else w.flatten() for w in weights])
    theirs = torch.cat([torch.view_as_real(p.detach()).flatten() if p.is_complex() else p.detach().flatten()
                        for p in model.parameters()])
    return float(torch.linalg.vector_norm(mine - theirs) / torch.linalg.vector_norm(theirs))


@pytest.mark.integration
def test_a_member_made_non_finite_stops_alone_and_the_others_go_on_unchanged(data, monkeypatch):
    reference, reference_histories = group(data, epochs=2)
    real_terms = module_file.amplitude_loss_terms
    calls = {"training": 0}

    def poisoned(predicted, measured, mode):  # the 3rd training step: member 1's loss becomes NaN
        terms = real_terms(predicted, measured, mode)
        if measured.ndim == 4:  # the group's training loss (validation works member by member)
            calls["training"] += 1
            if calls["training"] == 3:
                terms = terms.clone()
                terms[:, 1] = math.nan
        return terms

    monkeypatch.setattr(module_file, "amplitude_loss_terms", poisoned)
    stacked, histories = group(data, epochs=2)
    assert histories[1].nonfinite == {"step": 2, "epoch": 0, "what": "loss"}
    assert histories[1].steps_done == 2 and histories[1].stop_reason == "nonfinite"
    assert len(histories[1].epochs) == 1  # the epoch it stopped in is recorded, none after
    assert all(torch.isfinite(member_view(p, 3)[1]).all() for p in stacked.parameters())
    for member in (0, 2):  # untouched by member 1's NaN
        assert histories[member].stop_reason is None
        assert histories[member].steps_done == reference_histories[member].steps_done
        assert [s["loss"] for s in histories[member].steps] == pytest.approx(
            [s["loss"] for s in reference_histories[member].steps], rel=1e-6)
        for p, q in zip(stacked.parameters(), reference.parameters()):
            torch.testing.assert_close(member_view(p, 3)[member], member_view(q, 3)[member], rtol=1e-6, atol=1e-7)
    # member 1 keeps the weights it had before its non-finite step: those of its single run stopped there
    real_loss, single_calls = module_file.amplitude_loss, {"n": 0}

    def poisoned_single(predicted, measured, mode):
        single_calls["n"] += 1
        loss = real_loss(predicted, measured, mode)
        return loss * math.nan if single_calls["n"] == 3 else loss

    monkeypatch.setattr(module_file, "amplitude_loss", poisoned_single)
    model, history = single(data, SEEDS[1], epochs=2)
    assert history.nonfinite == histories[1].nonfinite
    assert relative_distance(member_weights(stacked, 1, 3), model) < 1e-5


def without_timings(history) -> dict:
    payload = history.as_dict()
    return {**payload, "epochs": [{k: v for k, v in e.items() if k not in TIMING_KEYS} for e in payload["epochs"]]}


@pytest.mark.integration
def test_the_same_group_reproduces_itself_bit_for_bit(data):
    first, first_histories = group(data, epochs=2)
    second, second_histories = group(data, epochs=2)
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)
    assert [without_timings(h) for h in first_histories] == [without_timings(h) for h in second_histories]



@pytest.mark.integration
def test_a_groups_folders_are_single_runs(tmp_path, cache_dir, capsys, configs_of):
    configs = configs_of(SEEDS)
    folders = [tmp_path / f"seed{config.seed}" for config in configs]
    results = execute_group(configs, folders, cache_dir=cache_dir)
    for config, folder, stats in zip(configs, folders, results):
        assert stats.seed == config.seed and stats.group == {"seeds": SEEDS, "members": 3}
        assert stats.outcome in ("ok", "crashed", "inconclusive") and stats.params == 14_842
        model = build_generator(GeneratorPlan("hybrid", **TINY_MODEL))
        model.load_state_dict(torch.load(folder / "model.pt", weights_only=True))  # reloads as a single model
        assert main(["stats", "--run-dir", str(folder), "--out-json", str(tmp_path / "restat.json")]) == 0
        restat = json.loads((tmp_path / "restat.json").read_text())
        assert (restat["outcome"], restat["amp_ssim"]) == (stats.outcome, stats.amp_ssim)
    # every member found finished: reused, nothing trained
    assert all(stats.reused for stats in execute_group(configs, folders, cache_dir=cache_dir))
    # one member missing: only it trains (alone), the others are reused
    (folders[1] / "stats.json").unlink()
    again = execute_group(configs, folders, cache_dir=cache_dir)
    assert [s.reused for s in again] == [True, False, True] and again[1].group is None


def test_a_group_is_one_configuration(tmp_path, configs_of):
    with pytest.raises(ValueError, match="differ only in their seed"):
        execute_group(configs_of([1]) + configs_of([2], learning_rate=5e-4), [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(ValueError, match="train singly"):
        execute_group(configs_of([1, 2], scheduler="ReduceLROnPlateau"), [tmp_path / "a", tmp_path / "b"])


@pytest.mark.integration
def test_an_interrupted_group_checkpoints_every_member_and_resumes_bit_for_bit(tmp_path, cache_dir, monkeypatch,
                                                                              configs_of, stop_after):
    configs = configs_of(SEEDS[:2], epochs=3, scheduler="WarmupCosine", warmup_epochs=1)
    whole = [tmp_path / "whole" / f"s{c.seed}" for c in configs]
    execute_group(configs, whole, cache_dir=cache_dir)
    parted = [tmp_path / "parted" / f"s{c.seed}" for c in configs]
    monkeypatch.setattr(fit_module, "stop_request", stop_after(11))  # after step 4 of epoch 2
    with pytest.raises(RunInterrupted):
        execute_group(configs, parted, cache_dir=cache_dir)
    assert all((folder / "checkpoint.pt").is_file() and not (folder / "stats.json").exists() for folder in parted)
    # each member's checkpoint is the one its single run would write: a member resumes alone just as well
    state = torch.load(parted[0] / "checkpoint.pt", weights_only=True)
    assert state["position"] == [1, 4] and state["config_hash"] == configs[0].config_hash
    monkeypatch.setattr(fit_module, "stop_request", StopRequest())
    resumed = execute_group(configs, parted, cache_dir=cache_dir)
    assert all(stats.resumed for stats in resumed)
    for a, b in zip(whole, parted):
        model_a, model_b = (torch.load(f / "model.pt", weights_only=True) for f in (a, b))
        assert all(torch.equal(model_a[key], model_b[key]) for key in model_a)
        history_a, history_b = (json.loads((f / "history.json").read_text()) for f in (a, b))
        for history in (history_a, history_b):
            history["epochs"] = [{k: v for k, v in e.items() if k not in TIMING_KEYS} for e in history["epochs"]]
        assert history_a == history_b


@pytest.mark.integration
def test_a_single_run_through_the_group_path_is_unchanged(tmp_path, cache_dir, configs_of):
    """execute_run is a group of one: the same stats as the one-member group, and no group record."""
    (config,) = configs_of([SEEDS[0]])
    stats = execute_run(config, tmp_path / "single", cache_dir=cache_dir)
    (grouped,) = execute_group([config], [tmp_path / "grouped"], cache_dir=cache_dir)
    assert stats.group is None and (stats.amp_ssim, stats.best_val_loss) == (grouped.amp_ssim,
                                                                                       grouped.best_val_loss)


def test_groups_are_formed_by_configuration_and_sized_for_the_device(configs_of):
    from harness.run.grouping import CPU_GROUP_SIZE, default_group_size, make_groups

    configs = configs_of([1, 2, 3, 4, 5]) + configs_of([1, 2], learning_rate=5e-4)
    assert [[c.seed for c in g] for g in make_groups(configs, 2)] == [[1, 2], [3, 4], [5], [1, 2]]
    assert default_group_size(configs[0], 5) == CPU_GROUP_SIZE == 1  # on a CPU a group is slower per member
    assert len(make_groups(configs)) == 7
    plateau = configs_of([1, 2, 3], scheduler="ReduceLROnPlateau")
    assert [len(g) for g in make_groups(plateau, 3)] == [1, 1, 1]  # its schedule follows each run's own loss


@pytest.mark.integration
def test_a_group_that_runs_out_of_memory_trains_its_members_singly(tmp_path, cache_dir, monkeypatch, configs_of):
    from harness.run import execute as execute_module

    real_fit_group = execute_module.fit_group

    def no_room_for_groups(model, data, config, members, **kwargs):
        if len(members) > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")
        return real_fit_group(model, data, config, members, **kwargs)

    monkeypatch.setattr(execute_module, "fit_group", no_room_for_groups)
    configs = configs_of(SEEDS[:2], epochs=1)
    results = execute_group(configs, [tmp_path / "a", tmp_path / "b"], cache_dir=cache_dir)
    assert [stats.outcome != "oom" and stats.group is None for stats in results] == [True, True]


def test_a_generator_that_cannot_stack_trains_its_seeds_singly_saying_so_once(configs_of, capsys):
    import dataclasses

    from harness.models import GeneratorPlan
    from harness.run.grouping import make_groups
    from stability_tests.tiny import TINY_MODEL

    configs = [dataclasses.replace(c, model=GeneratorPlan("ffno", **TINY_MODEL)) for c in configs_of([1, 2, 3])]
    assert [len(group) for group in make_groups(configs, 3)] == [1, 1, 1]
    make_groups(configs, 3)
    said = capsys.readouterr().err
    assert said.count("ffno cannot be stacked into a seed group: its seeds train singly") == 1
    stackable = [dataclasses.replace(c, model=GeneratorPlan("fno_vanilla", **TINY_MODEL)) for c in configs]
    assert [len(group) for group in make_groups(stackable, 3)] == [3]
