"""The parser class shared by every command."""
from __future__ import annotations

import argparse
import sys


class OneLineParser(argparse.ArgumentParser):
    """An argument error is one line naming the command, like the commands' own errors
    (argparse's default prints the whole usage first); ``--help`` still shows the usage."""

    def error(self, message: str):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)
