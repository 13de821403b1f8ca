"""Command-line entry point: ``faceswap-parts SUBCOMMAND ...``.

Each subcommand lives in ``faceswap_parts/commands/<name>.py`` and exposes
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
Command modules import heavy libraries (torch, cv2) inside ``run`` so that
``--help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from faceswap_parts import __version__
from faceswap_parts.commands.arguments import OneLineParser
from faceswap_parts.errors import FaceswapError, FaceswapWarning, os_error_reason

COMMANDS = ("extract", "masks", "train", "convert", "inspect", "evaluate", "demo", "weights")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one sub-parser per command."""
    parser = OneLineParser(
        prog="faceswap-parts",
        description="Face swapping (whole face or eyes / nose / mouth) with faceswap-GAN v2.2 in PyTorch.",
    )
    parser.add_argument("--version", action="version", version=f"faceswap-parts {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"faceswap_parts.commands.{name}")
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors print one line and return a non-zero code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    default_format = warnings.formatwarning

    def one_line(message, category, filename, lineno, line=None):
        if issubclass(category, FaceswapWarning):
            return f"faceswap-parts {args.command}: warning: {message}\n"
        return default_format(message, category, filename, lineno, line)

    warnings.formatwarning = one_line
    try:
        return int(args._run(args) or 0)
    except FaceswapError as err:
        print(f"faceswap-parts {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"faceswap-parts {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        # Permissions and full disks are the user's to fix: say which file, in one line.
        where = f"{err.filename}: " if err.filename else ""
        print(f"faceswap-parts {args.command}: error: {where}{os_error_reason(err)}", file=sys.stderr)
        return 1
    finally:
        warnings.formatwarning = default_format


if __name__ == "__main__":
    raise SystemExit(main())
