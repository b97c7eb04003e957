"""fixtures/studies.toml: the protocol and every arm reach the run configuration."""

import pytest
import torch

from harness.data import DatasetParams
from harness.errors import UsageError
from harness.study import CRASH_HUNT, SHOOTOUT, load_studies, run_config_for
from harness.train.clipping import clip_gradients_, global_grad_norm


@pytest.fixture(scope="module")
def studies():
    return load_studies()


def installed(studies):
    """The arms whose generator's libraries are installed (neuralop-* need the optional extra)."""
    from harness.models.registry import UnknownArchitecture, check_extra

    def available(arm):
        try:
            check_extra(studies.arms[arm].get("architectures", "hybrid"))
        except UnknownArchitecture:
            return False
        return True

    return [arm for arm in studies.arms if available(arm)]


def config(studies, arm, depth=6, seed=20260128, study=SHOOTOUT, **kwargs):
    return run_config_for(studies, study=study, arm=arm, depth=depth, seed=seed, profile="quick", device="cpu", **kwargs)


# Where each setting an arm table may hold must arrive (written independently of the settings module).
SETTING_TARGETS = {
    "architectures": lambda c: c.model.architecture, "fno-width": lambda c: c.model.width,
    "fno-modes": lambda c: c.model.modes, "torch-max-hidden-channels": lambda c: c.model.max_hidden_channels,
    "N": lambda c: c.data.N, "gridsize": lambda c: c.data.gridsize, "set-phi": lambda c: c.data.set_phi,
    "nimgs-train": lambda c: c.data.nimgs_train, "nimgs-test": lambda c: c.data.nimgs_test,
    "nphotons": lambda c: c.data.nphotons, "probe-defocus": lambda c: c.data.probe_defocus,
    "torch-loss-mode": lambda c: c.train.loss_mode, "torch-batch-size": lambda c: c.train.batch_size,
    "torch-infer-batch-size": lambda c: c.train.infer_batch_size,
    "torch-log-grad-norm": lambda c: c.train.log_grad_norm,
    "torch-grad-norm-log-freq": lambda c: c.train.grad_norm_log_freq,
    "torch-grad-clip": lambda c: c.train.grad_clip, "torch-grad-clip-algorithm": lambda c: c.train.grad_clip_algorithm,
    "torch-optimizer": lambda c: c.train.optimizer, "torch-learning-rate": lambda c: c.train.learning_rate,
    "torch-weight-decay": lambda c: c.train.weight_decay, "torch-betas": lambda c: list(c.train.betas),
    "torch-scheduler": lambda c: c.train.scheduler, "torch-lr-warmup-epochs": lambda c: c.train.warmup_epochs,
    "torch-lr-min-ratio": lambda c: c.train.min_lr_ratio, "torch-epochs": lambda c: c.train.epochs,
    "collapse-patience": lambda c: c.train.collapse_patience, "probe-source": lambda c: c.data.probe_source,
    "objects-per-seed": lambda c: c.data.train_seed != DatasetParams().train_seed,
}


def test_the_studies_are_well_formed(studies):
    for study in (CRASH_HUNT, SHOOTOUT):
        table = studies.table(study)
        assert table["seeds"] and len(set(table["seeds"])) == len(table["seeds"])
        assert studies.seeds_from_base(study, 3) == [table["seed_base"] + k for k in range(3)]
    assert all(isinstance(depth, int) and depth >= 1 for depth in studies.crash_hunt["depths"])
    assert {studies.crash_hunt_arm, *studies.shootout["arms"]} <= set(studies.arms)


def test_every_setting_of_the_protocol_and_of_every_arm_takes_effect(studies):
    configs = {arm: config(studies, arm) for arm in installed(studies)}
    for arm, run in configs.items():
        for name, value in {**studies.protocol, **studies.arms[arm]}.items():
            assert name in SETTING_TARGETS, f"a setting this test does not know yet: {name}"
            assert SETTING_TARGETS[name](run) == value, (arm, name)
        assert (run.depth, run.study, run.arm_name, run.profile) == (6, SHOOTOUT, arm, "quick")
    # arms that differ in a setting are different runs
    tables = {arm: {**studies.protocol, **studies.arms[arm]} for arm in configs}
    for a in configs:
        for b in configs:
            if a < b and tables[a] != tables[b]:
                assert configs[a].config_hash != configs[b].config_hash, (a, b)


def _clipped(arm_config, weight: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """The gradient after the arm's own clipping setting, through the trainer's clipping call."""
    parameter = torch.nn.Parameter(weight.clone())
    parameter.grad = grad.clone()
    clip_gradients_([parameter], arm_config.train.grad_clip_algorithm, arm_config.train.grad_clip,
                    global_grad_norm([parameter]))
    return parameter.grad


def test_the_agc_arms_clip_as_defined(studies):
    """Soft AGC: whole-tensor norms at λ = 0.1; agc-unitwise: per output unit at λ = 0.1."""
    soft, unitwise = config(studies, "agc"), config(studies, "agc-unitwise")
    weight = torch.tensor([[3.0, 4.0], [0.0, 0.5]])            # ‖w‖ = 5.5227; rows 5.0 and 0.5
    bound = 0.1 * torch.linalg.vector_norm(weight)
    above = torch.tensor([[1.0, 0.0], [0.0, 1.0]])              # ‖g‖ = 1.414 > 0.552: ends exactly on the bound
    clipped = _clipped(soft, weight, above)
    assert torch.linalg.vector_norm(clipped) == pytest.approx(float(bound), rel=1e-6)
    torch.testing.assert_close(clipped / torch.linalg.vector_norm(clipped), above / torch.linalg.vector_norm(above))
    below = above * 0.3                                          # ‖g‖ = 0.424 < 0.552: untouched, bit for bit
    assert torch.equal(_clipped(soft, weight, below), below)
    # per unit: row 0 (‖g‖ 0.3 ≤ 0.1·5.0) untouched, row 1 (‖g‖ 0.3 > 0.1·0.5) brought to 0.05 — where the
    # per-tensor arm leaves the same gradient whole
    per_unit = _clipped(unitwise, weight, below)
    assert torch.equal(per_unit[0], below[0])
    assert torch.linalg.vector_norm(per_unit[1]) == pytest.approx(0.05, rel=1e-6)


def test_seed_epochs_and_threads_take_effect(studies):
    base = config(studies, "control")
    other = config(studies, "control", seed=20260129, epochs=2, threads=1)
    assert other.train.seed == 20260129 and other.train.epochs == 2 and other.threads == 1
    assert base.config_hash != other.config_hash


def test_unknown_arm_and_unknown_setting_are_clear_errors(studies, tmp_path):
    with pytest.raises(UsageError, match="unknown arm"):
        config(studies, "lion")
    broken = tmp_path / "studies.toml"
    algorithm = 'torch-grad-clip-algorithm = "agc-per-tensor"'
    broken.write_text(studies.source.read_text().replace(algorithm, f"{algorithm}\ntorch-grad-clipp = 3"))
    with pytest.raises(UsageError, match=r"\[arms.agc\] torch-grad-clipp 3: not a `harness run` setting"):
        config(load_studies(broken), "agc")


AGC = 'torch-grad-clip-algorithm = "agc-per-tensor"'
BROKEN_FIXTURES = [
    ("[crash_hunt]\narm = ", "a syntax error", "is not valid TOML"),
    ('[crash_hunt]\narm = "control"', '[crash_hunt_renamed]\narm = "control"', "[crash_hunt]"),
    ("depths = [4, 6, 8]", 'depths = "4,6"', "[crash_hunt] depths"),
    ('arm = "control"\ndepths = [4, 6, 8]\nseeds = [20260128, 20260129, 20260130]',
     'arm = "control"\ndepths = [4, 6, 8]\nseeds = [1.5]', "[crash_hunt] seeds"),
    ('arms = ["control", "layerscale", "agc", "adamw"]', 'arms = ["control", "lion"]', "lion"),
    # keys the study sets itself would be ignored in a study table: refused, naming what sets them
    (AGC, AGC + '\nfno-blocks = 2',
     "[arms.agc] fno-blocks 2: is set by the crash hunt's depths (--depths) or the shootout's depth"),
    (AGC, AGC + '\nseed = 7',
     "[arms.agc] seed 7: is set by --seeds / --n-seeds"),
    (AGC, AGC + '\noutput-dir = "elsewhere"',
     "[arms.agc] output-dir 'elsewhere': is set by --runs-dir"),
    (AGC, AGC + '\nruns-dir = "elsewhere"',
     "[arms.agc] runs-dir 'elsewhere': is set by --runs-dir"),
    (AGC, AGC + '\nrerun = true',
     "[arms.agc] rerun True: is set by --rerun"),
    ("set-phi = true", "set-phi = true\ndevice = \"cuda\"", "[protocol] device 'cuda': is set by --device"),
    (AGC, AGC + '\n\n[arms.two]\narchitectures = ["hybrid", "ffno"]',
     "[arms.two] architectures ['hybrid', 'ffno']: an arm trains one architecture"),
    ("[arm_sets]\n", '[arm_sets]\nagc = ["control"]\n', "[arm_sets] agc"),
    (AGC, AGC + '\n\n[arms."../x"]\n'
     'architectures = "hybrid"', "[arms.../x] '../x': must be a name"),
]


@pytest.mark.parametrize("original, broken, named", BROKEN_FIXTURES, ids=[b[2] for b in BROKEN_FIXTURES])
def test_a_malformed_studies_file_is_one_error_naming_the_file_and_the_key(studies, tmp_path, original, broken,
                                                                           named):
    text = studies.source.read_text()
    assert original in text
    path = tmp_path / "studies.toml"
    path.write_text(text.replace(original, broken, 1))
    with pytest.raises(UsageError) as caught:
        load_studies(path)
    assert str(path) in str(caught.value) and named in str(caught.value)


BAD_ARM_VALUES = [
    ('torch-grad-clip = 0.1\ntorch-grad-clip-algorithm = "agc-per-tensor"', "torch-grad-clip = nan\n"
     'torch-grad-clip-algorithm = "agc-per-tensor"', "[arms.agc] torch-grad-clip nan: must be a finite number"),
    ('torch-grad-clip = 0.1\ntorch-grad-clip-algorithm = "agc-per-tensor"', 'torch-grad-clip = "high"\n'
     'torch-grad-clip-algorithm = "agc-per-tensor"', "[arms.agc] torch-grad-clip"),
    ('torch-grad-clip = 0.1\ntorch-grad-clip-algorithm = "agc-per-tensor"', "torch-grad-clip = 0.1\ntorch-betas = [0.9]\n"
     'torch-grad-clip-algorithm = "agc-per-tensor"', "[arms.agc] torch-betas"),
    ("set-phi = true", 'set-phi = "yes"', "[protocol] set-phi"),
]


@pytest.mark.parametrize("original, broken, named", BAD_ARM_VALUES, ids=["nan", "text", "one-beta", "switch"])
def test_a_bad_value_in_an_arm_or_the_protocol_names_the_file_the_table_and_the_key(studies, tmp_path, original,
                                                                                   broken, named):
    text = studies.source.read_text()
    assert original in text
    path = tmp_path / "studies.toml"
    path.write_text(text.replace(original, broken, 1))
    with pytest.raises(UsageError) as caught:
        config(load_studies(path), "agc")
    assert str(caught.value).startswith(str(path)) and named in str(caught.value)


@pytest.mark.parametrize("given, option", [(dict(seeds=[1, 2, 3]), "--seeds 1,2,3: 3 seeds, more than the sequential "
                                            "design's budget (--max-seeds 2)"),
                                           (dict(n_seeds=30), "--n-seeds 30: 30 seeds, more than")])
def test_seeds_beyond_the_sequential_budget_are_refused_never_dropped(studies, given, option):
    from harness.study.design import Design

    with pytest.raises(UsageError, match=option.replace("(", r"\(").replace(")", r"\)")):
        studies.planned_seeds(CRASH_HUNT, Design(max_seeds=2 if "seeds" in given else 20), **given)
    assert studies.planned_seeds(CRASH_HUNT, Design(max_seeds=3), seeds=[3, 1, 2]) == [1, 2, 3]
