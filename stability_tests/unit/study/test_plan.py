"""A study's plan: its seeds, the order its cases start, its xdist groups and each case's configuration —
made from the options and the fixture alone."""

import importlib.util

import pytest

from harness.errors import UsageError
from harness.study.definitions import load_studies
from harness.study.plan import StudyPlan
from harness.study.records import StudyCase


def plan_of(study_options, on_gpu=False, **given) -> StudyPlan:
    return StudyPlan.of(study_options(**given), load_studies(), on_gpu=on_gpu)


def test_a_fixed_plan_runs_its_matrix_deepest_first_with_the_seeds_as_given(study_options):
    plan = plan_of(study_options, **{"--depths": "6,4", "--seeds": "3,1", "--arms": "agc,control", "--design": "fixed"})
    assert plan.design.design == "fixed"
    assert [(c.depth, c.seed) for c in plan.cases("crash_hunt")] == [(6, 3), (6, 1), (4, 3), (4, 1)]
    assert [(c.arm, c.seed) for c in plan.cases("shootout")] == [("agc", 3), ("agc", 1), ("control", 3), ("control", 1)]
    plan.check_configurations()  # every run of the matrix configures


def test_a_sequential_plan_goes_batch_by_batch_and_seed_by_seed_across_its_depths(study_options):
    plan = plan_of(study_options, **{"--depths": "6,4", "--max-seeds": 5, "--seed-batch": 2, "--p1": 0.4,
                                     "--alpha": 0.01})
    base = plan.studies.crash_hunt["seed_base"]
    assert plan.seeds("crash_hunt") == [base + k for k in range(5)]
    assert (plan.design.p1, plan.design.alpha, plan.design.looks) == (0.4, 0.01, (2, 4, 5))
    assert [(c.depth, c.seed - base) for c in plan.cases("crash_hunt")] == [
        (6, 0), (4, 0), (6, 1), (4, 1), (6, 2), (4, 2), (6, 3), (4, 3), (6, 4), (4, 4)]
    assert [seed - base for seed in plan.batch_of(StudyCase("crash_hunt", "control", 6, base + 3))] == [2, 3]
    assert plan_of(study_options, **{"--seeds": "9,3,7"}).seeds("shootout") == [3, 7, 9]  # the decisions' order


def test_every_case_is_found_again_from_its_test_id_and_no_other_test_is(study_options):
    plan = plan_of(study_options, **{"--probe-source": "disk,fzp", "--depths": "4,6"})
    for case in plan.cases("crash_hunt") + plan.cases("shootout"):
        assert plan.case_of(f"stability_tests/studies/test_x.py::test_{case.study}[{case.test_id}]") == case
    assert plan.case_of("stability_tests/studies/test_crash_hunt.py::test_crash_hunt[depth5-seed1]") is None
    assert plan.case_of("stability_tests/unit/test_a.py::test_crash_hunt_is_fast") is None


def test_the_seeds_of_a_configuration_share_an_xdist_group_only_when_they_train_together(study_options):
    on_cpu = plan_of(study_options, **{"--design": "fixed"})
    assert on_cpu.group_size() == 1 and on_cpu.group_name(on_cpu.cases("crash_hunt")[0]) is None
    on_gpu = plan_of(study_options, on_gpu=True, **{"--design": "fixed"})
    names = {on_gpu.group_name(case) for case in on_gpu.cases("crash_hunt")}
    assert len(names) == len(on_gpu.depths)   # every seed of a depth in one group
    halves = plan_of(study_options, **{"--design": "fixed", "--group-size": 2, "--seeds": "1,2,3"})
    assert [halves.group_name(c).rsplit("-", 1)[1] for c in halves.cases("shootout")[:3]] == ["part0", "part0", "part1"]


def test_a_named_set_of_arms_and_the_crash_hunt_of_any_arm(study_options):
    plan = plan_of(study_options, **{"--arms": "architectures", "--hunt-arm": "fno-vanilla", "--design": "fixed"})
    assert plan.arms == tuple(load_studies().arm_sets["architectures"]) and len(plan.arms) > 1   # the set, resolved
    assert {case.arm for case in plan.cases("crash_hunt")} == {"fno-vanilla"}
    assert plan.config(plan.cases("crash_hunt")[0]).model.architecture == "fno_vanilla"
    if importlib.util.find_spec("neuralop") is not None:
        plan.check_configurations()


@pytest.mark.parametrize("option, value", [("--hunt-arm", "resnet"), ("--arms", "control,nonexistent")])
def test_an_unknown_arm_is_refused_naming_its_option(study_options, option, value):
    with pytest.raises(UsageError, match=f"{option} {value.split(',')[-1]}: unknown arm"):
        plan_of(study_options, **{option: value})


def test_the_probe_as_a_study_factor_runs_every_arm_once_per_probe(study_options):
    plan = plan_of(study_options, **{"--probe-source": "disk,fzp", "--depths": "4", "--design": "fixed"})
    cases = plan.cases("crash_hunt")
    assert {case.arm for case in cases} == {"control@disk", "control@fzp"} and len(cases) == 2 * 3
    assert {case.arm: plan.config(case).data.probe_source for case in cases} == {"control@disk": "disk",
                                                                                 "control@fzp": "fzp"}
    case = next(c for c in cases if c.arm == "control@fzp")
    assert case.test_id == f"depth4@fzp-seed{case.seed}"
    assert len({plan.config(c).default_folder("runs") for c in cases}) == len(cases)  # each probe's own folders
    assert plan.shootout_arms()[0] == "control@disk" and plan.control == "control@disk"


@pytest.mark.parametrize("given, option", [({"--seeds": "1,2,3", "--max-seeds": 2}, "--seeds"),
                                           ({"--n-seeds": 30}, "--n-seeds")])
def test_seeds_the_sequential_budget_cannot_take_are_refused_before_any_test(study_options, given, option):
    with pytest.raises(UsageError) as caught:
        plan_of(study_options, **given)
    assert caught.value.flag == option and "more than the sequential design's budget" in str(caught.value)
