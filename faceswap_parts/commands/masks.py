"""`faceswap-parts masks` (being built; see the issue tracker)."""

HELP = "masks (not available yet)"


def add_arguments(parser):
    pass


def run(args):
    from faceswap_parts.errors import FaceswapError

    raise FaceswapError("'masks' is not available in this build yet")
