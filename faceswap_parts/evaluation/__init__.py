"""Quantitative evaluation of a face swap: identity transfer, expression and
pose kept, temporal stability, flicker, detection coverage and (optionally)
model reconstruction quality. See docs/evaluation.md.

>>> report = evaluate_videos("a.mp4", "a_to_b.mp4", "faces_a", "faces_b", out="report", max_frames=100)
>>> report["identity_transfer_rate"]
"""
from faceswap_parts.evaluation.embeddings import DlibEmbedder, FaceEmbedder, get_embedder
from faceswap_parts.evaluation.pipeline import EvaluationConfig, evaluate_videos

__all__ = ["DlibEmbedder", "EvaluationConfig", "FaceEmbedder", "evaluate_videos", "get_embedder"]
