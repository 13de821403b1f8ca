"""The one exception type that reaches users as a one-line message."""


class FaceswapError(Exception):
    """A problem with the user's input or environment, worded for the user.

    The CLI prints ``str(error)`` on one line and exits non-zero, without a
    traceback. Raise it for anything a user can fix (missing file, corrupt
    video, wrong option, missing weights) and say how to fix it.
    """
