"""CLI subcommands; see :mod:`faceswap_parts.cli`."""
