"""What an interrupted run says about what the same command will do next."""

from pathlib import Path

from harness.train.interrupt import RunInterrupted


def test_the_message_says_whether_the_run_resumes_or_starts_over():
    saved = str(RunInterrupted("SIGTERM", Path("runs/x/checkpoint.pt"), (1, 3)))
    assert "checkpoint written to runs/x/checkpoint.pt" in saved and "again to resume" in saved
    unsaved = str(RunInterrupted("SIGINT", None, (0, 2)))
    assert "checkpoints are off" in unsaved and "starts this run over" in unsaved and "resume" not in unsaved
    between = str(RunInterrupted("SIGTERM before this run started"))
    assert "go on" in between and "checkpoint" not in between
