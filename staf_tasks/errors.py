"""Errors that mean the user's input is wrong (not a bug): the commands print them in one line and exit 2."""


class StafUserError(Exception):
    """A problem with the user's input; the CLI prints its message in one line and exits 2."""
