"""`harness run`: a folder holding a finished run of another configuration is refused (one line naming --rerun),
never replaced silently."""

import json

from harness.cli.main import build_parser
from harness.run.configure import run_configs
from harness.run.folder import RunFolder
from harness.run.record import Identity, RunRecord
from harness.run.recording import start_folder

SMOKE = ["--profile", "smoke", "--N", "32", "--fno-width", "8", "--fno-modes", "4", "--threads", "1"]


def finished_folder(folder, *arguments) -> dict:
    """A folder holding the finished record of the run these arguments configure; returns its stats.json."""
    (config,) = run_configs(build_parser().parse_args(["run", *SMOKE, *arguments, "--output-dir", str(folder)]))
    run_folder = RunFolder(folder)
    start_folder(config, run_folder)
    run_folder.write_record(RunRecord.untrained(Identity.of(config), "infeasible", "recorded by an earlier command"))
    return json.loads((folder / "stats.json").read_text())


def test_a_finished_run_of_another_configuration_is_refused_naming_rerun(tmp_path, usage_error):
    folder = tmp_path / "run"
    before = finished_folder(folder, "--torch-epochs", "3", "--architectures", "fno_vanilla")
    for changed in (["--torch-epochs", "1", "--architectures", "fno_vanilla"],
                    ["--torch-epochs", "3", "--architectures", "hybrid"]):
        usage_error(["run", *SMOKE, *changed, "--output-dir", str(folder)], f"--output-dir {folder}: holds a finished "
                    "run of another configuration", [folder / "progress.log"])
        assert json.loads((folder / "stats.json").read_text()) == before
    usage_error(["run", *SMOKE, "--torch-epochs", "1", "--architectures", "fno_vanilla", "--output-dir", str(folder)],
                "(train.epochs 3 → 1); pass --rerun to replace it", [])

