"""The undo journal: held then sending then released, leftovers after a kill, one instance per
profile, a read-only second instance, damaged files kept aside, full and read-only disks."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fs_support import run_on_small_fs

from lexi_tui.core.config import data_dir
from lexi_tui.core.instance_lock import ProfileInUse
from lexi_tui.core.journal import (
    HELD,
    SENDING,
    AlreadyHeld,
    HeldAction,
    HeldJournal,
    JournalReadOnly,
    JournalUnwritable,
)

ROOT = Path(__file__).resolve().parents[2]


def action(task_id: str = "t1", verb: str = "approve", reason: str | None = None) -> HeldAction:
    return HeldAction(task_id, "prospect_search", f"Search {task_id}", verb, reason, 0.0)


def other_process(code: str) -> subprocess.Popen[str]:
    """A second lexi-tui-like process on the same data folder, running `code`, then waiting
    (it prints "ready" first) until its stdin closes or it is killed."""
    script = textwrap.dedent(code) + "\nprint('ready', flush=True)\nimport sys; sys.stdin.read()\n"
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "ready", child.stderr.read() if child.stderr else line
    return child


@pytest.fixture
def holder() -> Iterator[subprocess.Popen[str]]:
    """Another process that has profile "work" open and holds one action in its undo window."""
    child = other_process("""
        from lexi_tui.core.journal import HeldJournal, HeldAction
        journal = HeldJournal.open("work")
        journal.hold(HeldAction("first-1", "campaign_start", "Start the Q3 campaign", "approve", None, 0.0))
    """)
    yield child
    child.kill()
    child.wait(10)


def test_an_action_goes_held_then_sending_then_is_released() -> None:
    journal = HeldJournal.open("work")
    stored = journal.hold(action("t1", "dismiss", "duplicate"))
    assert stored.state == HELD and stored.profile == "work" and stored.sent_at is None
    assert journal.actions == [stored] and journal.sending == []
    on_disk = json.loads(journal.path.read_text())
    assert on_disk["version"] == 2 and [a["state"] for a in on_disk["actions"]] == ["held"]
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    sending = journal.mark_sending(stored.action_id)
    assert sending.state == SENDING and sending.sent_at is not None
    assert journal.actions == [] and journal.sending == [sending]  # No longer undoable.
    assert json.loads(journal.path.read_text())["actions"][0]["state"] == "sending"
    assert journal.release(stored.action_id) == sending
    assert json.loads(journal.path.read_text())["actions"] == []
    assert journal.release(stored.action_id) is None
    with pytest.raises(KeyError):
        journal.mark_sending("nope")
    journal.close()


def test_a_killed_session_leaves_held_and_sending_apart_with_what_settling_needs() -> None:
    child = other_process("""
        from lexi_tui.core.journal import HeldJournal, HeldAction
        journal = HeldJournal.open("work")
        journal.hold(HeldAction("never-sent", "prospect_search", "Search CEOs", "approve", None, 0.0))
        sent = journal.hold(HeldAction("maybe-sent", "campaign_start", "Start Q3", "dismiss", "not now", 0.0,
                                       before="pending"))
        journal.mark_sending(sent.action_id)
    """)
    child.send_signal(signal.SIGKILL)  # No cleanup at all, as a kill -9 or a power cut.
    child.wait(10)
    journal = HeldJournal.open("work")  # The kernel released the dead process's lock.
    left = journal.leftovers()
    assert left.problem is None
    assert [a.task_id for a in left.held] == ["never-sent"]
    (maybe,) = left.sending
    assert (maybe.task_id, maybe.verb, maybe.reason, maybe.profile, maybe.before) == (
        "maybe-sent", "dismiss", "not now", "work", "pending")
    assert maybe.sent_at is not None and maybe.held_at <= maybe.sent_at
    # Leftovers stay on disk until the app has dealt with each one: a second crash loses nothing.
    journal.hold(action("new"))
    assert {a["task_id"] for a in json.loads(journal.path.read_text())["actions"]} == {"never-sent", "maybe-sent", "new"}
    with pytest.raises(AlreadyHeld):
        journal.hold(action("maybe-sent"))  # Settle it first: never two actions for one task.
    assert journal.release(maybe.action_id) == maybe
    assert [a.task_id for a in journal.leftovers()] == ["never-sent"]
    journal.clear()
    assert journal.leftovers() == [] and json.loads(journal.path.read_text())["actions"] == []
    journal.close()


def test_a_second_instance_is_refused_and_names_the_first(holder: subprocess.Popen[str]) -> None:
    path = data_dir() / "held" / "work.json"
    before = path.read_bytes()
    with pytest.raises(ProfileInUse) as caught:
        HeldJournal.open("work")
    who = caught.value.holder
    assert who is not None and who.pid == holder.pid and who.host == socket.gethostname()
    message = str(caught.value)
    assert f"lexi-tui (pid {holder.pid}, started " in message and "already has profile 'work' open" in message
    # The plain constructor is guarded too, at its first use of the file.
    with pytest.raises(ProfileInUse):
        HeldJournal("work").leftovers()
    assert path.read_bytes() == before


def test_the_second_instance_runs_read_only_and_never_touches_the_first_ones_journal(
        holder: subprocess.Popen[str]) -> None:
    path = data_dir() / "held" / "work.json"
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    journal = HeldJournal.open_or_read_only("work")
    assert journal.is_read_only and journal.holder is not None and journal.holder.pid == holder.pid
    assert f"pid {holder.pid}" in (journal.read_only_reason or "")
    assert journal.leftovers() == [] and journal.actions == []  # Not "not sent": it never read them.
    with pytest.raises(JournalReadOnly, match="runs without actions"):
        journal.hold(action("t9"))
    journal.clear()
    assert journal.release("anything") is None
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    # The first instance still has its action, and sends it as usual once this one has gone.
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(10)
    (left,) = HeldJournal.open("work").leftovers()
    assert left.task_id == "first-1" and left.state == HELD


def test_locks_are_per_profile_and_shared_within_one_process() -> None:
    work, home = HeldJournal.open("work"), HeldJournal.open("home")
    again = HeldJournal.open("work")  # Same process: the lock is about processes.
    work.close()
    busy = subprocess.run([sys.executable, "-c", "from lexi_tui.core.journal import HeldJournal; "
                           "HeldJournal.open('work')"], capture_output=True, text=True, cwd=ROOT)
    assert busy.returncode != 0 and "ProfileInUse" in busy.stderr  # `again` still holds it.
    again.close()
    free = subprocess.run([sys.executable, "-c", "from lexi_tui.core.journal import HeldJournal; "
                           "HeldJournal.open('work'); print('ok')"], capture_output=True, text=True, cwd=ROOT)
    assert free.stdout.strip() == "ok", free.stderr
    home.close()
    with pytest.raises(RuntimeError):
        work.hold(action())


def test_a_version_1_file_is_read() -> None:
    path = data_dir() / "held" / "work.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps([{"task_id": "old", "task_type": "x", "description": "d", "verb": "approve",
                                 "reason": None, "due": 0, "action_id": "a1"}]))
    (left,) = HeldJournal.open("work").leftovers()
    assert (left.task_id, left.state, left.action_id) == ("old", HELD, "a1")


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b'{"version": 2, "actions": 3}', b"[1, 2"])
def test_an_unparseable_journal_is_kept_aside_not_overwritten(content: bytes) -> None:
    path = data_dir() / "held" / "work.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    journal = HeldJournal.open("work")
    left = journal.leftovers()
    assert left == [] and left.problem is not None
    aside = left.problem.kept_aside
    assert aside is not None and aside.parent == path.parent and aside.name.startswith("work.json.corrupt-")
    assert aside.read_bytes() == content and stat.S_IMODE(aside.stat().st_mode) == 0o600
    assert str(path) in left.problem.message and str(aside) in left.problem.message
    journal.hold(action())  # The journal works again, and the damaged copy is still there.
    assert aside.read_bytes() == content


def test_readable_entries_of_a_partly_damaged_journal_are_kept_and_the_file_copied() -> None:
    path = data_dir() / "held" / "work.json"
    path.parent.mkdir(parents=True)
    good = {"task_id": "ok-1", "task_type": "x", "description": "d", "verb": "approve", "action_id": "g1",
            "state": "sending", "sent_at": 5.0, "future_field": True}
    content = json.dumps({"version": 2, "actions": [good, {"task_id": 3}, "junk", {**good, "state": "odd"}]})
    path.write_text(content)
    left = HeldJournal.open("work").leftovers()
    assert [(a.task_id, a.state) for a in left] == [("ok-1", SENDING)]
    assert left.problem is not None and "3 entries" in left.problem.message
    assert left.problem.kept_aside is not None and left.problem.kept_aside.read_text() == content
    assert path.read_text() == content  # Copied, not moved: the readable entry is still on file.


def test_a_journal_that_cannot_be_read_or_kept_aside_is_never_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "held"
    folder.mkdir()
    (folder / "work.json").mkdir()  # Unreadable as a file...
    (folder / "work.json" / "inside").write_text("precious")
    os.chmod(folder, 0o500)  # ...and, for a normal user, the folder does not let it be moved.
    try:
        journal = HeldJournal.open("work", folder)
        left = journal.leftovers()
        assert left.problem is not None
        if left.problem.kept_aside is None:  # Normal user: blocked, never overwritten.
            assert "no action can be held" in left.problem.message
            with pytest.raises(JournalUnwritable):
                journal.hold(action())
            assert (folder / "work.json" / "inside").read_text() == "precious"
        else:  # Root moves it aside despite the mode: kept, with its content.
            assert (left.problem.kept_aside / "inside").read_text() == "precious"
    finally:
        os.chmod(folder, 0o700)


def test_an_unwritable_folder_refuses_the_action_with_the_cause(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the journal folder should be")
    journal = HeldJournal.open("work", blocker / "held", lock_folder=tmp_path / "locks")
    with pytest.raises(JournalUnwritable) as caught:
        journal.hold(action())
    assert isinstance(caught.value, OSError) and str(blocker / "held") in str(caught.value)
    assert "Not a directory" in str(caught.value) and "was not sent" in str(caught.value)
    assert journal.actions == []  # Nothing half-held.


def test_a_full_disk_refuses_hold_and_mark_sending_and_changes_nothing(tmp_path: Path) -> None:
    result = run_on_small_fs(tmp_path / "data", "full", setup="""
        from lexi_tui.core.journal import HeldJournal, HeldAction
        j = HeldJournal.open("work")
        j.hold(HeldAction("a", "x", "first", "approve"))
        j.close()
    """, code="""
        import json
        from lexi_tui.core.journal import HeldJournal, HeldAction, JournalUnwritable
        j = HeldJournal.open("work")
        before = j.path.read_bytes()
        (first,) = j.leftovers()
        out = {}
        try:
            j.hold(HeldAction("b", "x", "second", "approve"))
        except JournalUnwritable as e:
            out["hold"] = str(e)
        out["held_after"] = [a.task_id for a in j.actions]
        out["unchanged"] = j.path.read_bytes() == before
        out["temp_files"] = [p.name for p in j.path.parent.iterdir() if p.name.endswith(".tmp")]
        print(json.dumps(out))
    """)
    assert "No space left on device" in result["hold"] and "/held" in result["hold"]
    assert result["held_after"] == [] and result["unchanged"] and result["temp_files"] == []


def test_a_read_only_file_system_refuses_the_action_but_shows_the_leftovers(tmp_path: Path) -> None:
    result = run_on_small_fs(tmp_path / "data", "readonly", setup="""
        from lexi_tui.core.journal import HeldJournal, HeldAction
        j = HeldJournal.open("work")
        a = j.hold(HeldAction("a", "x", "first", "approve"))
        j.mark_sending(a.action_id)
        j.close()
    """, code="""
        import json
        from lexi_tui.core.journal import HeldJournal, HeldAction, JournalUnwritable
        j = HeldJournal.open("work")
        out = {"leftovers": [(a.task_id, a.state) for a in j.leftovers()]}
        try:
            j.hold(HeldAction("b", "x", "second", "approve"))
        except JournalUnwritable as e:
            out["hold"] = str(e)
        print(json.dumps(out))
    """)
    assert result["leftovers"] == [["a", "sending"]]
    assert "Read-only file system" in result["hold"]


def test_mark_sending_that_cannot_be_written_keeps_the_action_held(tmp_path: Path) -> None:
    folder = tmp_path / "held"
    journal = HeldJournal.open("work", folder)
    stored = journal.hold(action())
    saved = folder.rename(tmp_path / "moved")  # The folder vanishes (an unmounted disk)...
    (tmp_path / "held").write_text("and a file takes its place")
    with pytest.raises(JournalUnwritable):
        journal.mark_sending(stored.action_id)
    assert journal.actions == [stored] and journal.sending == []  # Still held: it is not sent.
    assert journal.release(stored.action_id) == stored  # Undo still works; the failure is noted.
    assert journal.write_error is not None
    assert json.loads((saved / "work.json").read_text())["actions"][0]["task_id"] == "t1"


def test_actions_must_be_storable() -> None:
    journal = HeldJournal.open("work")
    with pytest.raises(ValueError):
        journal.hold(HeldAction("", "x", "d", "approve"))
    with pytest.raises(ValueError):
        journal.hold(HeldAction("t", "x", "d", "approve", state=SENDING))
    with pytest.raises(ValueError):
        HeldJournal("../escape")


def test_every_field_of_many_actions_reads_back_after_a_restart() -> None:
    journal = HeldJournal.open("work")
    held = [journal.hold(HeldAction(f"t{n}", "prospect_search", f"Find CFOs in Zürich \ud800 #{n}", "dismiss",
                                    "duplicate" if n % 2 else None, 1.5 * n, before="pending"))
            for n in range(200)]
    sending = journal.mark_sending(held[7].action_id)
    journal.release(held[3].action_id)
    journal.close()
    left = HeldJournal.open("work").leftovers()
    expected = [sending if a.action_id == sending.action_id else a for a in held if a.action_id != held[3].action_id]
    assert list(left) == expected and left.problem is None
    assert len(journal.path.read_text().splitlines()) == len(expected) + 2  # One action a line.
