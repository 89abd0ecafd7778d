"""Errors that mean the user's input is wrong (not a bug): the commands print them in one line and exit 2."""


class StafUserError(Exception):
    """A problem with the user's input; the CLI prints its message in one line and exits 2."""


class StafWarning(UserWarning):
    """An input that is accepted but not as given (a truncated file, a stretched image); the commands print it in
    one line starting with ``warning:``."""
