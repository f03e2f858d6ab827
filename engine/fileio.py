"""Files written atomically and read safely: ``atomic_write`` / ``atomic_open`` and ``open_regular``.

``atomic_write(path, data)`` leaves ``path`` holding either its old bytes
or all of ``data``, never a mix, even if the process is killed half way:

* the data goes to a temporary file *next to the real target* (a symlink is
  followed, so saving to a link updates the file it points to, as ``echo >``
  does), is flushed and fsync'ed, then ``os.replace``-d over the target, and
  the folder is fsync'ed too where the system allows it;
* a file that already exists keeps its permission bits (and its owner, when
  we may set it); a new one gets ``0o666`` minus the umask, applied by the
  kernel: the process umask is never read or changed (doing so is racy for
  every other thread);
* temporary names are short and unique (``.<name, cut to 40>~<pid>.<random>.tmp``),
  so a valid 250-character file name works, and temporaries left by a
  killed writer (its pid gone, its lock free) are removed by the next write
  of the same file.

``open_regular(path)`` opens a file for reading without ever blocking on a
FIFO, and refuses anything that is not a regular file (a folder, a FIFO, a
device) with an ``OSError`` naming the path and what it is.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
>>> atomic_write(path, "hello\\n") == os.path.realpath(path)
True
>>> with open_regular(path) as f:
...     f.read()
b'hello\\n'
"""
from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import stat
from typing import IO, BinaryIO, Iterator, Optional, Union

try:  # POSIX: lets the cleanup of stale temporaries tell a dead writer from a live one
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["atomic_write", "atomic_open", "open_regular", "TEMP_SUFFIX"]

PathLike = Union[str, bytes, "os.PathLike[str]"]
TEMP_SUFFIX = ".tmp"
_STEM_CHARS = 40  # keeps a temporary name under 70 characters for any target name (NAME_MAX is 255)


def _describe(mode: int) -> str:
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return what
    return "not a regular file"


def _not_regular(path: str, mode: int, doing: str) -> OSError:
    what = _describe(mode)
    if stat.S_ISDIR(mode):
        return IsADirectoryError(errno.EISDIR, f"cannot {doing} {path!r}: it is a directory; give a file path", path)
    return OSError(errno.EINVAL, f"cannot {doing} {path!r}: it is {what}, not a regular file", path)


def _temp_prefix(name: str) -> str:
    return "." + name[:_STEM_CHARS] + "~"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # exists, but is someone else's (EPERM)
        return True
    return True


def _remove_stale_temps(folder: str, name: str) -> None:
    """Delete temporaries of ``name`` whose writer died (killed mid-write): pid gone and lock free."""
    if fcntl is None or not hasattr(os, "kill"):  # pragma: no cover - no safe liveness test here
        return
    prefix = _temp_prefix(name)
    try:
        entries = [e.name for e in os.scandir(folder) if e.name.startswith(prefix) and e.name.endswith(TEMP_SUFFIX)]
    except OSError:
        return
    for entry in entries:
        pid_text = entry[len(prefix):].split(".", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _pid_alive(int(pid_text)):
            continue
        full = os.path.join(folder, entry)
        try:
            fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by a live writer in another pid namespace?
            os.unlink(full)
        except OSError:
            pass
        finally:
            os.close(fd)


def _fsync_folder(folder: str) -> None:
    # Makes the rename itself durable; not every system can open or fsync a folder (Windows, some FUSE).
    if not hasattr(os, "O_DIRECTORY"):  # pragma: no cover - Windows
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "wb", *, encoding: str = "utf-8", newline: Optional[str] = None,
                fsync: bool = True, cleanup: bool = True) -> Iterator[IO]:
    """A file to write ``path`` through: it replaces ``path`` atomically when the ``with`` block ends
    normally, and is discarded (old file untouched, no temporary left) when the block raises.

    ``mode`` is ``"wb"`` or ``"w"`` (text, with ``encoding`` and ``newline``).  Use it to stream a
    large output; ``atomic_write`` is the one-shot form.  Errors as ``atomic_write``.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "rows.csv")
    >>> with atomic_open(path, "w", newline="") as f:
    ...     _ = f.write("a,b\\n")
    >>> open(path).read()
    'a,b\\n'
    """
    if isinstance(path, bool) or not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"atomic_open: path must be a str or os.PathLike, got {type(path).__name__}")
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open: mode must be 'wb' or 'w', got {mode!r}")
    shown = os.fsdecode(os.fspath(path))
    target = os.path.realpath(shown)  # write beside the real file: replacing a symlink would orphan its target
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise _not_regular(shown, st.st_mode, "write")
    folder, name = os.path.split(target)
    if cleanup:
        _remove_stale_temps(folder, name)
    tmp = os.path.join(folder, f"{_temp_prefix(name)}{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o666)  # the kernel applies the umask: no os.umask() dance
    except OSError as e:  # name the target, not the temporary file
        raise type(e)(e.errno, f"cannot write {shown!r}: {e.strerror}", shown) from None
    f = os.fdopen(fd, "wb")  # owns fd from here on
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # marks the temporary as in use for other writers' cleanup
        if st is not None:
            if hasattr(os, "fchown") and (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(fd, st.st_uid, st.st_gid)
                except OSError:
                    pass  # not ours to give away; the mode below is still kept
            if hasattr(os, "fchmod"):
                os.fchmod(fd, stat.S_IMODE(st.st_mode))
            else:  # pragma: no cover - Windows
                os.chmod(tmp, stat.S_IMODE(st.st_mode))
        if mode == "w":
            text = io.TextIOWrapper(f, encoding=encoding, newline=newline, write_through=False)
            yield text
            text.flush()
            text.detach()
        else:
            yield f
        f.flush()
        if fsync:
            os.fsync(fd)
        f.close()  # before the rename: Windows cannot replace an open file
        os.replace(tmp, target)
    except BaseException:
        f.close()
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if fsync:
        _fsync_folder(folder)


def atomic_write(path: PathLike, data: Union[bytes, str], *, encoding: str = "utf-8", fsync: bool = True,
                 cleanup: bool = True) -> str:
    """Replace the file at ``path`` with ``data`` (bytes, or str encoded with ``encoding``), atomically.

    Returns the path actually written (symlinks resolved).  Raises
    ``IsADirectoryError`` for a folder, ``OSError`` naming ``path`` for a
    FIFO/device or any write failure; on failure the old file is untouched
    and no temporary file is left.  ``fsync=False`` skips the disk flushes
    (tests, scratch files); ``cleanup=False`` skips the stale-temporary sweep.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp(); target = os.path.join(folder, "a.json")
    >>> _ = atomic_write(target, b"{}"); os.symlink(target, os.path.join(folder, "link.json"))
    >>> _ = atomic_write(os.path.join(folder, "link.json"), b"[1]")
    >>> open(target).read(), os.path.islink(os.path.join(folder, "link.json"))
    ('[1]', True)
    """
    if isinstance(path, bool) or not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"atomic_write: path must be a str or os.PathLike, got {type(path).__name__}")
    if isinstance(data, str):
        data = data.encode(encoding)
    elif not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"atomic_write: data must be bytes or str, got {type(data).__name__}")
    with atomic_open(path, "wb", fsync=fsync, cleanup=cleanup) as f:
        f.write(data)
    return os.path.realpath(os.fsdecode(os.fspath(path)))


def open_regular(path: PathLike) -> BinaryIO:
    """Open ``path`` for binary reading; refuse (never block on) a FIFO, a folder or a device.

    Raises ``FileNotFoundError``/``PermissionError`` as ``open`` does, and
    ``IsADirectoryError`` or ``OSError`` (EINVAL) naming what the path is.
    """
    if isinstance(path, bool) or not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"open_regular: path must be a str or os.PathLike, got {type(path).__name__}")
    shown = os.fsdecode(os.fspath(path))
    # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever; no effect on regular files.
    fd = os.open(shown, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
                 | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(shown, mode, "read")
        if fcntl is not None and hasattr(os, "O_NONBLOCK"):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
