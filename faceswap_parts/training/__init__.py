"""Training: ``Trainer(config).train(iterations, callback)``.

A trained model is loaded for inference with :func:`faceswap_parts.models.load_model`.
"""
from faceswap_parts.config import Phase, TrainConfig, v22_schedule
from faceswap_parts.training.trainer import StopTraining, Trainer, TrainingProgress, TrainResult

__all__ = ["Phase", "StopTraining", "TrainConfig", "TrainResult", "Trainer", "TrainingProgress", "v22_schedule"]
