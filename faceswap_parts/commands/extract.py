"""`faceswap-parts extract` (being built; see the issue tracker)."""

HELP = "extract (not available yet)"


def add_arguments(parser):
    pass


def run(args):
    from faceswap_parts.errors import FaceswapError

    raise FaceswapError("'extract' is not available in this build yet")
