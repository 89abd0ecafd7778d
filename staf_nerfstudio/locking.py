"""One writer per folder: a run folder, a sweep folder or a scene folder is written by one process at a time.

A writer holds an exclusive lock on ``FOLDER/.staf-writer.lock`` (``flock`` through the :mod:`filelock` library)
from before its first write into the folder until after its last; the lock file names the process (pid, host and
command line) so that a second writer is refused with one line naming the folder and the holder. The operating
system drops the lock of a process that dies, however it dies (SIGKILL, a crash, a lost machine's NFS lease aside),
so a lock file left behind by such a process is stale: the next writer takes it over as if it were absent. The lock
file is removed when the lock is released, so a finished folder holds no trace of it.

Readers (``staf-render``, ``staf-activations``) take no lock: they read a checkpoint written atomically (see
:mod:`staf_nerfstudio.io`), so they see the last complete one, whatever a writer is doing.
"""

from __future__ import annotations

import errno
import os
import shlex
import socket
import sys
import warnings
from pathlib import Path

LOCK_NAME = ".staf-writer.lock"
"""The lock file a writer holds inside the folder it writes."""


class FolderBusyError(Exception):
    """Another live process holds the folder's lock (its message is the one line the commands print)."""


def _holder_text(path: Path) -> str:
    try:
        fields = dict(line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)
    except OSError:
        return "another process"
    if "pid" not in fields:
        return "another process"
    where = f" on {fields['host']}" if fields.get("host") not in (None, socket.gethostname()) else ""
    command = f" ({fields['command']})" if fields.get("command") else ""
    return f"process {fields['pid']}{where}{command}"


def _new_lock(path: Path, **options):
    """A non-blocking ``filelock.FileLock``; options that an older filelock (3.x) lacks are dropped."""
    import filelock

    try:
        return filelock.FileLock(str(path), timeout=0, **options)
    except TypeError:
        return filelock.FileLock(str(path), timeout=0)


def _busy(folder: Path, what: str, holder: str) -> FolderBusyError:
    return FolderBusyError(f"{what} {folder} is being written by {holder}; wait until it ends (or stop it) and run "
                           "this again, or choose another folder")


def check_not_busy(folder: Path | str, what: str = "folder") -> None:
    """Raises :class:`FolderBusyError` if a live process holds ``folder``'s lock; writes nothing (a stale lock file
    stays as it is, for the next writer to take over)."""
    import filelock

    path = Path(folder) / LOCK_NAME
    if not path.is_file():
        return
    holder = _holder_text(path)  # read before trying: an older filelock empties the file when it opens it
    probe = _new_lock(path, preserve_lock_file=True, is_singleton=False)
    try:
        probe.acquire()
    except filelock.Timeout:
        raise _busy(Path(folder), what, holder) from None
    except OSError:
        return  # a file system without locks: nothing to tell (FolderLock warns when it writes)
    probe.release()


def lock_file_is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


class FolderLock:
    """The exclusive writer lock of ``folder`` (which must exist), as a context manager.

    Raises :class:`FolderBusyError` on entry if another live process holds it; a lock left by a dead process is
    taken over. On exit the lock file is removed and the lock released.
    """

    def __init__(self, folder: Path | str, what: str = "folder") -> None:
        self.folder = Path(folder)
        self.what = what
        self.path = self.folder / LOCK_NAME
        self._lock = None

    def _mark(self, fd: int) -> None:
        """Writes who holds the lock into the lock file (called by filelock once the lock is held)."""
        command = " ".join(shlex.quote(Path(a).name if i == 0 else a) for i, a in enumerate(sys.argv))
        command = command if len(command) <= 160 else command[:157] + "..."
        text = f"pid {os.getpid()}\nhost {socket.gethostname()}\ncommand {command}\n"
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, text.encode(), 0)
        except OSError:  # a full disk: the lock holds without the note (a second writer reads "another process")
            pass

    def __enter__(self) -> "FolderLock":
        import filelock

        holder = _holder_text(self.path) if self.path.is_file() else "another process"
        lock = _new_lock(self.path, on_acquired=self._mark, is_singleton=False)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise _busy(self.folder, self.what, holder) from None
        except OSError as err:
            if err.errno not in (errno.ENOSYS, errno.ENOTSUP, errno.ENOLCK):
                raise
            warnings.warn(f"cannot lock {self.folder} on this file system ({err.strerror}); a second writer into it "
                          "would not be refused", stacklevel=2)
            return self
        self._lock = lock
        if lock_file_is_empty(self.path):  # an older filelock has no on_acquired: mark it here
            with open(self.path, "r+b") as handle:
                self._mark(handle.fileno())
        return self

    def __exit__(self, *exc) -> None:
        if self._lock is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still held: a waiter that opened it sees it unlinked
        except OSError:
            pass
        finally:
            self._lock.release()
            self._lock = None

    @property
    def held(self) -> bool:
        return self._lock is not None
