"""Training: ``Trainer(config).train(iterations, callback)``, ``load_model(workdir)``."""
from faceswap_parts.config import Phase, TrainConfig, v22_schedule
from faceswap_parts.training.trainer import StopTraining, Trainer, TrainingProgress, TrainResult, load_model

__all__ = ["Phase", "StopTraining", "TrainConfig", "TrainResult", "Trainer", "TrainingProgress", "load_model",
           "v22_schedule"]
