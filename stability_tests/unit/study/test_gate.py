"""study/gate.py: which decisions fail a session under --fail-on."""

from harness.study.gate import GATES, gate_failures
from harness.study.group_sequential import FEWER, FUTILE, MORE

HUNT = {"depths": [{"depth": 4, "decision": {"decision": "stable"}}, {"depth": 6, "decision": {"decision": "crashy"}},
                   {"depth": 8, "decision": {"decision": "undecided"}}]}
SHOOTOUT = {"comparisons": [{"a": "agc", "b": "control", "decision": MORE},
                            {"a": "layerscale", "b": "control", "decision": FEWER},
                            {"a": "adamw", "b": "control", "decision": FUTILE}]}


def test_no_gate_fails_nothing():
    assert gate_failures({"crash_hunt": HUNT, "shootout": SHOOTOUT}, []) == []


def test_crashy_fails_on_each_crashy_depth_only():
    assert gate_failures({"crash_hunt": HUNT, "shootout": None}, ["crashy"]) == ["depth 6 decided crashy"]


def test_worse_fails_on_an_arm_decided_to_crash_more_only():
    assert gate_failures({"crash_hunt": None, "shootout": SHOOTOUT}, ["worse"]) == [
        "agc decided to crash more than control"]


def test_a_stable_recipe_passes_both_gates():
    stable = {"depths": [{"depth": 4, "decision": {"decision": "stable"}}]}
    assert gate_failures({"crash_hunt": stable, "shootout": None}, list(GATES)) == []
