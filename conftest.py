"""Root pytest configuration: the study plugin (its options, markers, parametrization and aggregation)."""

pytest_plugins = ["harness.study.plugin"]
