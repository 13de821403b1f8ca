"""faceswap-GAN v2.2 networks in PyTorch.

``FaceswapModel(config)`` holds the shared encoder, decoders A/B and patch
discriminators A/B; see docs/model.md.
"""
from faceswap_parts.models.faceswap_model import (DIRECTIONS, IDENTITIES, SDPA_CPU_FLOPS, FaceswapModel,
                                                  GeneratorOutput)

__all__ = ["FaceswapModel", "GeneratorOutput", "IDENTITIES", "DIRECTIONS", "SDPA_CPU_FLOPS"]
