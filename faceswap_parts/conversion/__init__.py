"""Video and image conversion with a trained model: tracking, temporal
smoothing, colour correction, blending, parts-only swaps, audio.

See docs/conversion.md.
"""
from faceswap_parts.conversion.config import ConversionResult, ConverterConfig
from faceswap_parts.conversion.converter import VideoConverter
from faceswap_parts.conversion.swapper import FaceSwapper

__all__ = ["ConversionResult", "ConverterConfig", "FaceSwapper", "VideoConverter"]
