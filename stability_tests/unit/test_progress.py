"""Progress a person can watch: a bar on a terminal, flushed lines elsewhere."""

import io

from harness.progress import LINES_PER_EPOCH, Progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_redrawn_in_place_and_cleared_before_a_line():
    terminal = FakeTerminal()
    progress = Progress.for_terminal(terminal)
    for done in range(1, 5):
        progress.step(epoch=2, epochs=30, done=done, total=4, loss=0.25)
    progress.line("epoch 3/30  train 0.25")
    text = terminal.getvalue()
    assert "\r[" in text and "epoch 3/30  step 4/4  loss 0.25" in text and "steps/s" in text and "ETA" in text
    assert text.endswith("epoch 3/30  train 0.25\n")
    assert "\n" not in text[:text.rindex("\r")]  # the bar never scrolled the terminal


def test_a_file_gets_a_flushed_line_every_tenth_of_an_epoch():
    stream = io.StringIO()
    progress = Progress.for_terminal(stream)
    for done in range(1, 101):
        progress.step(epoch=0, epochs=1, done=done, total=100, loss=1.0)
    lines = stream.getvalue().splitlines()
    assert len(lines) == LINES_PER_EPOCH - 1 and all(line.startswith("epoch 1/1  step ") for line in lines)
    assert "\r" not in stream.getvalue()


def test_labelled_lines_name_their_member():
    stream = io.StringIO()
    Progress.for_terminal(stream).labelled("seed 7")("epoch 1/2  train 0.3")
    assert stream.getvalue() == "[seed 7] epoch 1/2  train 0.3\n"
