"""The design record: fixture keys and options with one set of names, each value checked."""

import pytest

from harness.errors import UsageError
from harness.study.design import Design, make_design


def test_defaults_and_looks():
    design = make_design({}, {}, "studies.toml [design]")
    assert design == Design() and design.looks == (5, 10, 15, 20)
    assert Design(max_seeds=12, batch=5).looks == (5, 10, 12) and Design(max_seeds=3, batch=5).looks == (3,)
    assert Design(design="fixed").look_plan(7).looks == (7,) and Design(design="fixed").look_plan(7).futility == 0


def test_the_options_override_the_fixture():
    design = make_design({"p1": 0.4, "max-seeds": 10}, {"--max-seeds": 8, "--p0": None}, "f [design]")
    assert (design.p1, design.max_seeds, design.p0) == (0.4, 8, 0.05)


@pytest.mark.parametrize("table, given, named", [
    ({"p9": 1}, {}, "f [design] p9"), ({"max-seeds": 2.5}, {}, "f [design] max-seeds"),
    ({"design": "adaptive"}, {}, "f [design] design"), ({}, {"--comparison-test": "t"}, "--comparison-test"),
    ({}, {"--p0": 0.4, "--p1": 0.3}, "--p0"), ({}, {"--alpha": float("inf")}, "--alpha"),
    ({"p0": 0.4, "p1": 0.3}, {}, "f [design] p0"),     # from the fixture: its file and key, not the option
])
def test_a_bad_value_names_its_key_or_option(table, given, named):
    with pytest.raises(UsageError) as caught:
        make_design(table, given, "f [design]")
    assert caught.value.flag == named and len(str(caught.value).splitlines()) == 1
