"""Face detection: MTCNN in plain torch, batched for video.

>>> from faceswap_parts.faces.detection import FaceDetector
>>> boxes, scores, landmarks = FaceDetector().detect(rgb_image)
"""
from faceswap_parts.faces.detection.detector import FaceDetector

__all__ = ["FaceDetector"]
