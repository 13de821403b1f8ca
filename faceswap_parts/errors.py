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


#: What to do about the operating-system errors a user can fix.
_OS_HINTS = {
    "EACCES": "give this user access, or choose another folder",
    "EPERM": "give this user access, or choose another folder",
    "ENOSPC": "free some space and run the same command again",
    "EDQUOT": "free some space and run the same command again",
    "EROFS": "choose a writable folder",
}


def os_error_reason(err: BaseException) -> str:
    """A failed read or write in the system's words, with what to do. Looks
    down the exception chain: torch.save reports a full disk as a
    RuntimeError ("unexpected pos") whose cause is buried in it."""
    import errno
    import os

    seen = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            hint = _OS_HINTS.get(errno.errorcode.get(seen.errno, ""))
            if hint:
                return f"{seen.strerror or os.strerror(seen.errno)} ({hint})"
        seen = seen.__cause__ or seen.__context__
    if isinstance(err, RuntimeError) and "unexpected pos" in str(err):
        return "the write was cut short, most likely because the disk is full"
    return getattr(err, "strerror", None) or str(err).splitlines()[0]
