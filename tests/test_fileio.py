"""engine.fileio (issue 14, item 9): atomic writes done the careful way, and reads that never hang.

Saving to a symlink updates its target; re-saving keeps the file's mode;
the process umask is never touched; a valid 250-character file name
works; temporaries left by killed writers are removed by the next save
(while a live writer's temporary is left alone); FIFOs, folders and
devices are refused on load and on save instead of hanging or being
replaced.
"""
import os
import stat
import subprocess
import sys
import threading

import pytest

import engine.fileio as fileio
from engine.fileio import atomic_write, open_regular
from nn import MLP, load_model, save_model

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file semantics")


def test_writes_bytes_and_str_and_returns_the_real_path(tmp_path):
    p = tmp_path / "a.txt"
    assert atomic_write(p, "héllo") == str(p)
    assert p.read_bytes() == "héllo".encode()
    atomic_write(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_bad_arguments():
    with pytest.raises(TypeError, match="atomic_write: path must be"):
        atomic_write(3, b"")
    with pytest.raises(TypeError, match="atomic_write: data must be bytes or str, got list"):
        atomic_write("x", [1])


@posix_only
def test_saving_to_a_symlink_updates_its_target(tmp_path):
    real = tmp_path / "models" / "model.json"
    real.parent.mkdir()
    save_model(MLP(2, [3, 1], seed=0), real)
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    save_model(MLP(2, [3, 1], seed=1), link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert load_model(real).state_dict() == MLP(2, [3, 1], seed=1).state_dict()
    assert sorted(os.listdir(real.parent)) == ["model.json"]  # the temporary lived beside the target


@posix_only
def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "new.json")
    atomic_write(link, "{}")
    assert link.is_symlink() and (tmp_path / "new.json").read_text() == "{}"


@posix_only
def test_resaving_keeps_the_files_mode(tmp_path):
    p = tmp_path / "m.json"
    save_model(MLP(2, [3, 1], seed=0), p)
    os.chmod(p, 0o600)
    save_model(MLP(2, [3, 1], seed=1), p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    os.chmod(p, 0o640)
    atomic_write(p, "x")
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640


@posix_only
def test_new_files_get_the_umask_without_anyone_changing_it(tmp_path, monkeypatch):
    mask = os.umask(0o027)  # the test's own umask, restored below
    try:
        def no_umask(*a):
            raise AssertionError("atomic_write must not call os.umask (racy for every other thread)")
        monkeypatch.setattr(os, "umask", no_umask)
        atomic_write(tmp_path / "new.json", "{}")
        monkeypatch.undo()
        assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o640
    finally:
        os.umask(mask)


def test_a_250_character_file_name_works(tmp_path):
    name = "m" * 245 + ".json"
    assert len(name) == 250
    save_model(MLP(2, [3, 1], seed=0), tmp_path / name)
    assert load_model(tmp_path / name).nin == 2
    assert os.listdir(tmp_path) == [name]


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@posix_only
def test_stale_temporaries_of_dead_writers_are_removed_live_ones_kept(tmp_path):
    p = tmp_path / "model.json"
    save_model(MLP(2, [3, 1], seed=0), p)
    prefix = fileio._temp_prefix("model.json")
    dead = tmp_path / f"{prefix}{_dead_pid()}.0a1b2c3d.tmp"
    dead.write_text('{"half": ')
    live = tmp_path / f"{prefix}{os.getppid()}.0a1b2c3d.tmp"  # our parent is alive
    live.write_text('{"half": ')
    other = tmp_path / ".notes.txt~1.00.tmp"  # another file's temporary: not ours to judge
    other.write_text("x")
    save_model(MLP(2, [3, 1], seed=1), p)
    assert sorted(os.listdir(tmp_path)) == sorted(["model.json", live.name, other.name])


@posix_only
def test_a_locked_temporary_is_kept_even_if_its_pid_looks_dead(tmp_path):
    # a writer in another pid namespace: its pid means nothing here, but it holds the lock
    import fcntl
    p = tmp_path / "m.json"
    tmp = tmp_path / f"{fileio._temp_prefix('m.json')}{_dead_pid()}.ffff.tmp"
    tmp.write_text("")
    with open(tmp) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        atomic_write(p, "{}")
        assert tmp.exists()
    atomic_write(p, "{}")
    assert not tmp.exists()


def _in_thread(fn):
    """Run fn in a daemon thread; a hang shows up as a thread still alive after a generous wait."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            box["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(60)
    assert not t.is_alive(), "blocked (a FIFO must be refused, not waited on)"
    return box


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_loading_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    box = _in_thread(lambda: load_model(fifo))
    assert isinstance(box.get("error"), OSError) and "FIFO" in str(box["error"]) and str(fifo) in str(box["error"])
    box = _in_thread(lambda: atomic_write(fifo, "{}"))
    assert isinstance(box.get("error"), OSError) and "not a regular file" in str(box["error"])
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # not replaced by a regular file


def test_loading_or_saving_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="directory"):
        load_model(tmp_path)
    with pytest.raises(IsADirectoryError, match="directory"):
        atomic_write(tmp_path, "x")
    with pytest.raises(IsADirectoryError):
        open_regular(tmp_path)


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_devices_are_refused():
    with pytest.raises(OSError, match="character device"):
        open_regular("/dev/null")
    with pytest.raises(OSError, match="character device"):
        load_model("/dev/null")


def test_missing_file_and_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError, match="cannot write"):
        atomic_write(tmp_path / "no" / "such" / "dir.json", "x")
