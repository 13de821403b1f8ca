"""The exception and warning types that reach users as one-line messages."""


class FaceswapError(Exception):
    """A problem with the user's input or environment, worded for the user.

    The CLI prints ``str(error)`` on one line and exits non-zero, without a
    traceback. Raise it for anything a user can fix (missing file, corrupt
    video, wrong option, missing weights) and say how to fix it.
    """


class FaceswapWarning(UserWarning):
    """A problem the run continues past, worded for the user (the CLI prints
    it on one line, without the warning's source location)."""
