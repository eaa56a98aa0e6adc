"""One trainer per model kind, behind one contract (:class:`~genrekit.trainers.base.Trainer`).

Each kind is registered with its typed config, as feature sets are with
their options: the classic estimators (``svm``, ``rf``, ``logreg``, ``knn``,
``gbm``: :class:`ClassicConfig`), ``cnn`` (:class:`CNNConfig`) and
``ensemble`` (:class:`EnsembleConfig`). :func:`genrekit.training.train`
dispatches on the kind; the CLI builds the same config objects.
"""

from __future__ import annotations

from genrekit.errors import ConfigError
from genrekit.trainers.base import RunOptions, Trainer, TrainResult
from genrekit.trainers.classic import ESTIMATORS, ClassicConfig, ClassicTrainer
from genrekit.trainers.cnn import CNNConfig, CNNTrainer
from genrekit.trainers.ensemble import EnsembleConfig, EnsembleTrainer

_TRAINERS: dict[str, Trainer] = {}


def register_trainer(trainer: Trainer) -> None:
    """Make ``trainer`` the one for ``trainer.kind`` (``genrekit.train(..., kind=trainer.kind)``)."""
    _TRAINERS[trainer.kind] = trainer


def get_trainer(kind: str) -> Trainer:
    try:
        return _TRAINERS[kind]
    except KeyError:
        raise ConfigError(f"unknown model kind {kind!r}; choose from {', '.join(available_trainers())}") from None


def available_trainers() -> list[str]:
    return list(_TRAINERS)


for _kind in ESTIMATORS:
    register_trainer(ClassicTrainer(_kind))
register_trainer(CNNTrainer())
register_trainer(EnsembleTrainer())

__all__ = ["CNNConfig", "ClassicConfig", "ESTIMATORS", "EnsembleConfig", "RunOptions", "TrainResult", "Trainer",
           "available_trainers", "get_trainer", "register_trainer"]
