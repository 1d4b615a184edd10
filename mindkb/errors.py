"""Expected failures: the CLI turns these into one stderr line and an exit code."""


class MindError(Exception):
    """A failure the user can act on; exit code 1."""

    exit_code = 1


class BadInput(MindError):
    """Bad input or usage; exit code 2."""

    exit_code = 2

