"""The per-profile instance lock: who holds it, released by the OS at death, roles apart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lexi_tui.core.config import data_dir
from lexi_tui.core.instance_lock import Holder, InstanceLock, LockUnavailable, ProfileInUse, holder_of

ROOT = Path(__file__).resolve().parents[2]


def hold_in_child(profile: str, role: str = "app") -> subprocess.Popen[str]:
    code = (f"from lexi_tui.core.instance_lock import InstanceLock\n"
            f"InstanceLock.acquire({profile!r}, role={role!r}, program='lexi-tui test')\n"
            "print('ready', flush=True)\nimport sys; sys.stdin.read()\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def test_the_holder_record_names_pid_host_and_start() -> None:
    lock = InstanceLock.acquire("work")
    record = json.loads((data_dir() / "locks" / "work.app.holder.json").read_text())
    assert record["pid"] == os.getpid() and record["role"] == "app" and record["profile"] == "work"
    assert abs(record["started"] - time.time()) < 60
    assert holder_of("work") == lock.holder
    lock.release()
    lock.release()  # Twice is harmless.
    assert holder_of("work") is None and not (data_dir() / "locks" / "work.app.holder.json").exists()


def test_another_process_is_refused_until_it_dies_even_by_sigkill() -> None:
    child = hold_in_child("work")
    try:
        with pytest.raises(ProfileInUse) as caught:
            InstanceLock.acquire("work")
        assert caught.value.holder is not None and caught.value.holder.pid == child.pid
        assert str(caught.value).startswith(f"lexi-tui test (pid {child.pid}, started ")
        assert holder_of("work") == caught.value.holder
        InstanceLock.acquire("work", role="watch").release()  # Other roles are separate locks.
        InstanceLock.acquire("home").release()  # Other profiles too.
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    # Its record is still on disk, but the kernel released the lock: the record is ignored.
    assert (data_dir() / "locks" / "work.app.holder.json").exists()
    assert holder_of("work") is None
    InstanceLock.acquire("work").release()


def test_two_watchers_on_one_profile_are_refused() -> None:
    child = hold_in_child("work", role="watch")
    try:
        with pytest.raises(ProfileInUse, match="already has profile 'work' under watch"):
            InstanceLock.acquire("work", role="watch")
        InstanceLock.acquire("work").release()  # The app is not blocked by a watch.
    finally:
        child.kill()
        child.wait(10)


def test_an_unreadable_record_still_refuses(tmp_path: Path) -> None:
    child = hold_in_child("work")
    try:
        (data_dir() / "locks" / "work.app.holder.json").write_text("{half")
        with pytest.raises(ProfileInUse, match="another lexi-tui already has profile 'work' open"):
            InstanceLock.acquire("work")
        assert holder_of("work") is not None
    finally:
        child.kill()
        child.wait(10)


def test_a_folder_where_no_lock_can_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LockUnavailable) as caught:
        InstanceLock.acquire("work", folder=blocker / "locks")
    assert isinstance(caught.value, OSError) and "Not a directory" in str(caught.value.strerror)


def test_bad_names_and_roles() -> None:
    with pytest.raises(ValueError):
        InstanceLock.acquire("../x")
    with pytest.raises(ValueError):
        InstanceLock.acquire("work", role="everything")


def test_describe_says_where_and_when() -> None:
    now = time.mktime((2026, 12, 2, 15, 0, 0, 0, 0, -1))
    morning = time.mktime((2026, 12, 2, 9, 12, 0, 0, 0, -1))
    assert Holder(4242, "elsewhere", morning).describe(now) == "lexi-tui (pid 4242 on elsewhere, started 09:12)"
    yesterday = time.mktime((2026, 12, 1, 9, 12, 0, 0, 0, -1))
    assert "started 2026-12-01 09:12" in Holder(1, "elsewhere", yesterday).describe(now)
    assert Holder.from_json('{"pid": "1", "host": "h", "started": 1}') is None
