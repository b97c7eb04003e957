"""Atomic writes that name a full disk, and the lock that keeps one process per folder."""

import errno
import os

import pytest

from harness import fsutil
from harness.errors import UsageError
from harness.fsutil import DiskFull, atomic_write_bytes, exclusive_lock


def test_a_full_disk_is_named_with_the_path_and_leaves_nothing_behind(tmp_path, monkeypatch):
    def no_space(source, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsutil.os, "replace", no_space)
    with pytest.raises(DiskFull, match=f"no space left on the device writing {tmp_path / 'stats.json'}"):
        atomic_write_bytes(tmp_path / "stats.json", b"{}")
    assert os.listdir(tmp_path) == []


def test_a_full_disk_seen_only_while_the_temporary_exists_is_still_named(tmp_path, monkeypatch):
    """torch reports a full disk as a RuntimeError: the free space decides, and it must be read before the
    temporary file's space is given back."""
    import collections
    import shutil

    usage = collections.namedtuple("usage", "total used free")
    real = shutil.disk_usage

    def disk_usage(path):   # the device is full while a temporary of the write is on it
        filled = any(name.startswith(".checkpoint.pt.") for name in os.listdir(tmp_path))
        return usage(10**9, 10**9, 0) if filled else real(path)

    def torch_like_writer(temporary):
        with open(temporary, "wb") as stream:
            stream.write(b"x" * 1000)
        raise RuntimeError("[enforce fail at inline_container.cc] PytorchStreamWriter failed writing file data/0")

    monkeypatch.setattr(fsutil.shutil, "disk_usage", disk_usage)
    with pytest.raises(DiskFull, match="writing .*checkpoint.pt") as caught:
        fsutil.atomic_save(tmp_path / "checkpoint.pt", torch_like_writer)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__   # one line, no chained traceback
    assert os.listdir(tmp_path) == []


def test_harness_says_a_full_disk_in_one_line_with_status_1(monkeypatch, capsys, tmp_path):
    from harness.cli import main as main_module

    def full(args):
        raise DiskFull(tmp_path / "history.json")

    monkeypatch.setattr(main_module.COMMANDS["stats"], "run", full)
    assert main_module.main(["stats", "--run-dir", str(tmp_path)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "no space left on the device writing" in line and "history.json" in line


def test_a_lock_that_is_a_folder_is_named(tmp_path):
    (tmp_path / "key.lock").mkdir()
    with pytest.raises(UsageError, match="key.lock.*is a folder where a lock file belongs"):
        with exclusive_lock(tmp_path / "key.lock"):
            pass


@pytest.mark.integration
def test_the_lock_says_who_holds_it(tmp_path):
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
                               "from harness.fsutil import exclusive_lock\n"
                               f"with exclusive_lock(Path({str(tmp_path / '.lock')!r})):\n"
                               "    print('held', flush=True); time.sleep(2)"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    heard = []
    with exclusive_lock(tmp_path / ".lock", waiting=heard.append):
        pass
    holder.wait(10)
    assert len(heard) == 1 and f"pid {holder.pid}" in heard[0] and "waiting for it" in heard[0]
