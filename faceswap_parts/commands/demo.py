"""`faceswap-parts demo` (being built; see the issue tracker)."""

HELP = "demo (not available yet)"


def add_arguments(parser):
    pass


def run(args):
    from faceswap_parts.errors import FaceswapError

    raise FaceswapError("'demo' is not available in this build yet")
