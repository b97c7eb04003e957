"""The `harness` entry point as a user meets it: a real process, its exit status and its stderr."""

import pytest

pytestmark = pytest.mark.integration


def test_bad_input_in_a_fresh_process_is_one_line_and_status_2(tmp_path, harness_process):
    result = harness_process(["run", "--profile", "smoke", "--fno-blocks", "99", "--runs-dir", str(tmp_path / "runs")])
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        result.stderr.strip()] and "--fno-blocks 99" in result.stderr
    assert not (tmp_path / "runs").exists()
