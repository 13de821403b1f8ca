"""Plain dataclass configs, saved inside the checkpoint (nanoGPT style).

On resume the architecture (:class:`ModelConfig`) always comes from the
checkpoint, never from the command line.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from faceswap_parts.alignment import FACE_COVERAGE
from faceswap_parts.errors import FaceswapError

RESOLUTIONS = (64, 128, 256)
CAPACITIES = ("lite", "standard")
#: Each named for what it computes. The Keras original's "instancenorm"
#: normalised over (H, W, C) per sample: that is ``layernorm`` here; its
#: "layernorm" normalised each channel over (H, W): that is ``instancenorm``.
NORMS = ("none", "batchnorm", "instancenorm", "layernorm", "groupnorm", "hybrid")


@dataclass
class ModelConfig:
    """Architecture of the faceswap-GAN v2.2 networks."""

    resolution: int = 64
    capacity: str = "standard"
    norm: str = "layernorm"  # v2.2's default ("instancenorm" in Keras) under its honest name
    self_attention: bool = True
    #: fraction of the full aligned face (see :mod:`faceswap_parts.alignment`) the model sees
    coverage: float = FACE_COVERAGE

    def __post_init__(self):
        if self.resolution not in RESOLUTIONS:
            raise FaceswapError(f"resolution must be one of {', '.join(map(str, RESOLUTIONS))}, got {self.resolution}")
        if self.capacity not in CAPACITIES:
            raise FaceswapError(f"capacity must be one of {', '.join(CAPACITIES)}, got {self.capacity!r}")
        if self.norm not in NORMS:
            raise FaceswapError(f"norm must be one of {', '.join(NORMS)}, got {self.norm!r}")
        if not 0.2 <= self.coverage <= 1.0:
            raise FaceswapError(f"coverage must be within [0.2, 1.0], got {self.coverage}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """Build from a saved dict, ignoring keys this version does not know."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
