"""The settings table: the command line's flags and the settings written as data come from one declaration, the
same defaults and the same checks; reading settings loads configuration types only."""

import subprocess
import sys

import pytest

from harness.cli.main import build_parser
from harness.errors import UsageError
from harness.settings import SETTINGS, settings_from_data


def test_the_command_line_and_an_empty_table_give_the_same_defaults():
    from_flags = vars(build_parser().parse_args(["run"]))
    from_data = vars(settings_from_data({}))
    assert {key: from_flags[key] for key in from_data} == from_data
    assert {setting.dest for setting in SETTINGS} <= set(from_flags)     # every setting is a flag of `harness run`


@pytest.mark.parametrize("data, flag", [
    ({"set-phi": "yes"}, "--set-phi"),                   # a switch: true or false
    ({"torch-epochs": 2.5}, "--torch-epochs"),           # a count: a whole number
    ({"torch-epochs": True}, "--torch-epochs"),
    ({"nphotons": "many"}, "--nphotons"),                # a number, as the command line would read it
    ({"torch-betas": [0.9, 0.99, 0.999]}, "--torch-betas"),   # a pair
    ({"torch-learning-rate": [0.1]}, "--torch-learning-rate"),
    ({"torch-grad-clipp": 1.0}, "--torch-grad-clipp"),   # not a setting
])
def test_a_value_of_the_wrong_kind_is_one_line_naming_its_setting(data, flag):
    with pytest.raises(UsageError) as caught:
        settings_from_data(data)
    assert caught.value.flag == flag and len(str(caught.value).splitlines()) == 1


def test_written_values_arrive_as_the_parser_would_give_them():
    values = settings_from_data({"nphotons": 1000000000, "seed": 7, "architectures": "stable_hybrid",
                                 "torch-betas": [0.8, 0.9], "set-phi": True, "N": "32", "runs-dir": "elsewhere"})
    parsed = build_parser().parse_args(["run", "--nphotons", "1e9", "--seed", "7", "--architectures", "stable_hybrid",
                                        "--torch-betas", "0.8", "0.9", "--set-phi", "--N", "32", "--runs-dir",
                                        "elsewhere"])
    for name in ("nphotons", "seed", "architectures", "torch_betas", "set_phi", "N", "runs_dir"):
        assert getattr(values, name) == getattr(parsed, name), name
    assert isinstance(values.nphotons, float) and isinstance(values.N, int)


def test_reading_settings_loads_configuration_types_only():
    script = ("import sys, harness.settings; print(' '.join(sorted(m for m in sys.modules if m.startswith(('harness', "
              "'lightning', 'torch')))))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert not [m for m in loaded if m.startswith(("lightning", "torch"))]
    assert not [m for m in loaded if m.startswith(("harness.study", "harness.verdict", "harness.evaluate"))]
    assert {m for m in loaded if m.startswith(("harness.train.", "harness.run.", "harness.data.", "harness.models."))} \
        <= {"harness.train.config", "harness.data.params", "harness.models.plan"}
