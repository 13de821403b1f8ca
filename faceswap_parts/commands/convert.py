"""`faceswap-parts convert` (being built; see the issue tracker)."""

HELP = "convert (not available yet)"


def add_arguments(parser):
    pass


def run(args):
    from faceswap_parts.errors import FaceswapError

    raise FaceswapError("'convert' is not available in this build yet")
