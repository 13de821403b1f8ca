"""Video and image conversion with a trained model: tracking, temporal
smoothing, colour correction, blending, parts-only swaps, audio.

See docs/conversion.md.
"""
from faceswap_parts.conversion.converter import ConversionResult, ConverterConfig, VideoConverter

__all__ = ["ConverterConfig", "VideoConverter", "ConversionResult"]
