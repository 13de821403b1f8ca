"""Training batches: augmentation (OpenCV on the CPU, or tensor ops on the
device), the batch source, and look-alike parts augmentation."""
from faceswap_parts.training.data.dataset import BatchSource, FaceBatch

__all__ = ["BatchSource", "FaceBatch"]
