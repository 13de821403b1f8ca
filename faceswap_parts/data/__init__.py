"""Training data: face-set folders, augmentation and the batch source."""
from faceswap_parts.data.dataset import BatchSource, FaceBatch, center_crop
from faceswap_parts.data.faceset import FaceSet, load_faceset

__all__ = ["BatchSource", "FaceBatch", "FaceSet", "center_crop", "load_faceset"]
