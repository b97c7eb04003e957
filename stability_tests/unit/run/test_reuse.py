"""What a run folder may be reused for: its own valid record of the same configuration; a finished run of another
configuration is named, never replaced; an invalid record is said before the run is trained again."""

import dataclasses

from harness.run.config import RunConfig
from harness.run.folder import RunFolder
from harness.run.record import Identity, RunRecord
from harness.run.recording import start_folder
from harness.run.reuse import another_run_in, reused_record
from harness.train.config import TrainConfig
from stability_tests.tiny import TINY_DATASET, TINY_PLAN

CONFIG = RunConfig(model=TINY_PLAN, data=TINY_DATASET, train=TrainConfig(epochs=2), profile="smoke")


def _finished(folder: RunFolder, config: RunConfig) -> None:
    start_folder(config, folder)
    folder.write_record(RunRecord.untrained(Identity.of(config), "infeasible", "recorded earlier"))


def test_a_finished_run_of_another_configuration_is_named_with_what_differs(tmp_path):
    folder = RunFolder(tmp_path / "run")
    assert another_run_in(CONFIG, folder) is None                   # nothing there
    _finished(folder, dataclasses.replace(CONFIG, profile="quick", train=TrainConfig(epochs=7)))
    reason = another_run_in(CONFIG, folder)
    assert reason is not None and "profile quick → smoke" in reason and "train.epochs 7 → 2" in reason
    assert "pass --rerun to replace it" in reason
    _finished(folder, CONFIG)
    assert another_run_in(CONFIG, folder) is None                   # the same configuration: reused, not refused


def test_an_invalid_record_is_said_before_the_run_trains_again(tmp_path):
    folder = RunFolder(tmp_path / "run")
    _finished(folder, CONFIG)
    (folder / "stats.json").write_text('{"study": "adhoc", "arm"')
    said: list[str] = []
    assert reused_record(CONFIG, folder, (), said.append) is None
    assert said == [f"finished run in {folder.path} not reused: {folder / 'stats.json'} is not JSON (Expecting ':' "
                    "delimiter: line 1 column 25 (char 24)); training it again"]
