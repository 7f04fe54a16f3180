"""Training mechanics: the trainer, checkpoints, EMA, statistics and run folders."""

from gankit.train.trainer import Trainer

__all__ = ["Trainer"]
