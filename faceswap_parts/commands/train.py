"""`faceswap-parts train` (being built; see the issue tracker)."""

HELP = "train (not available yet)"


def add_arguments(parser):
    pass


def run(args):
    from faceswap_parts.errors import FaceswapError

    raise FaceswapError("'train' is not available in this build yet")
