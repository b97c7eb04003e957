"""A package's names load with their module on first use: importing one light module of a package leaves the
rest unloaded, and a name the package does not have is an AttributeError naming it."""

import subprocess
import sys

import pytest

from harness.exports import LazyExports


def test_a_name_loads_its_module_on_first_use_and_only_then():
    script = ("import sys, harness.data; before = 'harness.data.cache' in sys.modules; harness.data.get_dataset; "
              "print(before, 'harness.data.cache' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True).stdout.split() == ["False", "True"]


def test_the_names_are_the_tables_and_an_unknown_one_is_refused():
    exports = LazyExports("harness.run", {"RunConfig": ".config"})
    from harness.run.config import RunConfig

    assert exports.load("RunConfig") is RunConfig and exports.names == ["RunConfig"]
    with pytest.raises(AttributeError, match="'harness.run' has no attribute 'Missing'"):
        exports.load("Missing")


@pytest.mark.parametrize("package", ["harness.data", "harness.models", "harness.run", "harness.train"])
def test_every_name_a_package_exports_exists(package):
    module = __import__(package, fromlist=["__all__"])
    for name in module.__all__:
        assert getattr(module, name) is not None
