"""Video and image conversion with a trained model: tracking, temporal
smoothing, colour correction, blending, parts-only swaps, audio.

See docs/conversion.md.
"""
from faceswap_parts.conversion.config import ConversionResult, ConverterConfig

# The converter and the swapper (OpenCV, numpy, torch) load on first use, so the CLI can read
# ConverterConfig's options for --help without them.
_LAZY = {"VideoConverter": "faceswap_parts.conversion.converter", "FaceSwapper": "faceswap_parts.conversion.swapper"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ConversionResult", "ConverterConfig", "FaceSwapper", "VideoConverter"]
