"""faceswap-parts: faceswap-GAN v2.2 in PyTorch, whole-face and face-parts swapping."""

__version__ = "0.1.0"

from faceswap_parts.errors import FaceswapError

__all__ = ["FaceswapError", "__version__"]
