"""Argument types and the parser class shared by every command."""
from __future__ import annotations

import argparse
import math
import sys


def finite_float(text: str) -> float:
    """argparse ``type`` for every float option: a number that is neither NaN nor infinite
    (``float()`` accepts ``nan`` and ``inf``, which then fail far from the option that held them)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


class OneLineParser(argparse.ArgumentParser):
    """An argument error is one line naming the command, like the commands' own errors
    (argparse's default prints the whole usage first); ``--help`` still shows the usage."""

    def error(self, message: str):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)
