"""faceswap-GAN v2.2 networks in PyTorch.

``FaceswapModel(config)`` holds the shared encoder, decoders A/B and patch
discriminators A/B; see docs/model.md.
"""
from faceswap_parts.models.faceswap_model import FaceswapModel, GeneratorOutput
from faceswap_parts.models.checkpoint import load_model

__all__ = ["FaceswapModel", "GeneratorOutput", "load_model"]
