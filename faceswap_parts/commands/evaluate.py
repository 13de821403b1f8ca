"""`faceswap-parts evaluate` (being built; see the issue tracker)."""

HELP = "evaluate (not available yet)"


def add_arguments(parser):
    pass


def run(args):
    from faceswap_parts.errors import FaceswapError

    raise FaceswapError("'evaluate' is not available in this build yet")
