"""What a user error is, and how every command reports one: the error/exit policy of the console commands.

A command's ``main(args) -> exit code`` runs under :func:`command_entry`, which turns

- a :class:`StafUserError` (bad input: a missing file, a bad option, a busy folder) into one line
  ``error: PROBLEM; FIX`` and exit status 2;
- an ``OSError`` the file system raised for a write the user asked for (no permission, a path through a file, a
  full disk) into one line naming the path and exit status 2; a full disk names the folder that filled up;
- Ctrl-C (SIGINT) and SIGTERM into one line saying where the last checkpoint is and how to continue (exit status
  130 and 143, as a shell reports the signals), after the run's clean-up has run;
- warnings into one line each (``warning: MESSAGE``).

Anything else is a bug and keeps its traceback. This module imports neither torch nor tyro.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence


class StafUserError(Exception):
    """A problem with the user's input; the CLI prints its message in one line and exits 2."""


class StafWarning(UserWarning):
    """An input that is accepted but not as given (a truncated file, a stretched image); the commands print it in
    one line starting with ``warning:``."""


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like ``KeyboardInterrupt`` so that the same clean-up runs."""


#: errno values that mean the file system refused a write the user asked for (not a bug): one line, exit 2.
USER_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.ENOTDIR, errno.EISDIR, errno.EEXIST,
               errno.EDQUOT, errno.ENAMETOOLONG, errno.EFBIG}
DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}

_interrupt_hints: List[Callable[[], str]] = []
_interrupted_hint: List[str] = []


@contextlib.contextmanager
def interrupt_hint(hint: Callable[[], str]) -> Iterator[None]:
    """While the block runs, an interrupted command ends with ``interrupted; HINT()`` (e.g. where the checkpoint is
    and the command that continues the run); the outermost hint wins (a sweep's over its fits')."""
    _interrupt_hints.append(hint)
    try:
        yield
    except (KeyboardInterrupt, Terminated):
        _interrupted_hint[:] = [hint()]  # set on the way out, so the outermost hint is the one left
        raise
    finally:
        _interrupt_hints.remove(hint)


def disk_full_error(path: Path | str, detail: str = "no space left on device") -> OSError:
    """The ``OSError`` a full disk raises, for writers (torch's) that report it as something else."""
    return OSError(errno.ENOSPC, detail, str(path))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings in one line: ``warning: MESSAGE`` (ours, :class:`StafWarning`) or ``warning (Category): MESSAGE``."""
    label = "warning" if issubclass(category, StafWarning) else f"warning ({category.__name__})"
    print(f"{label}: {_one_line(message)}", file=sys.stderr)


def os_error_line(err: OSError) -> str:
    """The one line for a refused write: a full disk names the folder that filled up, anything else the path."""
    path = Path(err.filename) if err.filename else None
    if err.errno in DISK_FULL_ERRNOS:
        folder = (path.parent if path.name.startswith(".") or not path.is_dir() else path) if path else "a folder"
        return (f"the disk holding {folder} is full ({err.strerror or 'no space left'}); free some space or choose "
                "another --output-dir (a run keeps its last complete checkpoint: continue it with --resume)")
    return (f"{err.filename or 'a file'}: {err.strerror}; check the path and its permissions, or choose another "
            "path")


def _interrupted_line(signal_name: str) -> str:
    hint = _interrupted_hint[0] if _interrupted_hint else "the run folder keeps its last checkpoint (continue with " \
                                                          "--resume)"
    return f"interrupted ({signal_name}); {hint}"


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def command_entry(main: Callable[[List[str]], int]) -> Callable[[Optional[Sequence[str]]], None]:
    """A console script's entry point that runs ``main(args)`` under the policy above and exits with its code."""

    def entry(argv: Optional[Sequence[str]] = None) -> None:
        args = list(sys.argv[1:] if argv is None else argv)
        _interrupted_hint.clear()
        previous = signal.getsignal(signal.SIGTERM)
        in_main_thread = _is_main_thread()
        if in_main_thread:
            signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                code = main(args)
        except StafUserError as err:
            print(f"error: {_one_line(err)}", file=sys.stderr)
            raise SystemExit(2) from None
        except OSError as err:
            if err.errno not in USER_ERRNOS:
                raise
            print(f"error: {_one_line(os_error_line(err))}", file=sys.stderr)
            raise SystemExit(2) from None
        except KeyboardInterrupt:
            print(_interrupted_line("Ctrl-C"), file=sys.stderr)
            raise SystemExit(130) from None
        except Terminated:
            print(_interrupted_line("SIGTERM"), file=sys.stderr)
            raise SystemExit(128 + signal.SIGTERM) from None
        finally:
            if in_main_thread:
                signal.signal(signal.SIGTERM, previous)
        raise SystemExit(code)

    return entry


def _is_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread() and os.name == "posix"
