"""The callbacks' own logic: the collapse stop counts each member's collapsed epochs in a row, stops it at the
patience, and carries its streaks through a checkpoint."""

from types import SimpleNamespace

from harness.train.callbacks import CollapseStop, epoch_line, training_callbacks
from harness.train.history import History


class FakeModule:
    """What the collapse stop reads of the training module: its members' histories and who records."""

    def __init__(self, members: int):
        self.runs = [SimpleNamespace(history=History()) for _ in range(members)]
        self.recording = [True] * members
        self.epoch = -1
        self.stopped: list[tuple[int, str]] = []

    def end_epoch(self, collapsed: list[bool]) -> None:
        self.epoch += 1
        for member, flag in enumerate(collapsed):
            if self.recording[member]:
                self.runs[member].history.epochs.append({"epoch": self.epoch, "collapsed": flag})

    def stop_member(self, member: int, reason: str) -> None:
        self.runs[member].history.stop_reason = reason
        self.recording[member] = False
        self.stopped.append((member, reason))


def run_epochs(stop: CollapseStop, module: FakeModule, epochs: list[list[bool]]) -> None:
    for collapsed in epochs:
        module.end_epoch(collapsed)
        stop.on_train_epoch_end(None, module)


def test_a_member_stops_after_patience_collapsed_epochs_in_a_row_and_only_then():
    module, stop = FakeModule(2), CollapseStop(patience=3, streaks=[0, 0])
    run_epochs(stop, module, [[True, True], [True, False], [True, True], [False, True]])
    assert module.stopped == [(0, "collapsed")] and stop.streaks == [3, 2]   # member 1's streak was broken
    run_epochs(stop, module, [[True, True]])
    assert module.stopped == [(0, "collapsed"), (1, "collapsed")]


def test_patience_zero_never_stops():
    module, stop = FakeModule(1), CollapseStop(patience=0, streaks=[0])
    run_epochs(stop, module, [[True]] * 10)
    assert module.stopped == [] and stop.streaks == [10]


def test_its_streaks_survive_a_checkpoint_so_a_resumed_run_stops_where_the_whole_one_does():
    whole_module, whole = FakeModule(1), CollapseStop(patience=4, streaks=[0])
    run_epochs(whole, whole_module, [[True]] * 4)
    first_module, first = FakeModule(1), CollapseStop(patience=4, streaks=[0])
    run_epochs(first, first_module, [[True]] * 2)
    resumed = CollapseStop(patience=4, streaks=[0])
    resumed.load_state_dict(first.state_dict())
    second_module = FakeModule(1)
    second_module.epoch = 1
    run_epochs(resumed, second_module, [[True]] * 2)
    assert second_module.stopped == whole_module.stopped == [(0, "collapsed")]


def test_the_epoch_is_recorded_before_the_collapse_stop_reads_it_and_both_before_a_checkpoint():
    stop = CollapseStop(patience=1, streaks=[0])
    names = [type(callback).__name__ for callback in training_callbacks(None, lambda *step: None, stop)]
    assert names.index("EpochRecords") < names.index("CollapseStop") < names.index("EpochCheckpoints")
    record = {"epoch": 2, "train_loss": 0.5, "val_loss": 0.25, "lr": 1e-3, "amp_cv": 0.1, "wall_s": 1.5}
    assert epoch_line(record, 10, {"amp_ssim": 0.4}).startswith("epoch 3/10  train 0.5  val 0.25  amp_ssim 0.400")
