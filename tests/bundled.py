"""A stand-in for the bundled-models folder: ``default`` and ``accurate`` made from the tiny test model."""

from __future__ import annotations

import shutil
from pathlib import Path

SELECTION = {"configuration": "logreg on seed", "ms_per_30s_clip": 12.5,
             "mean_balanced_accuracy_both_directions": 0.8125,
             "selection_figures": {"train->valid": {"balanced_accuracy": 0.875, "accuracy": 0.9},
                                   "valid->train": {"balanced_accuracy": 0.75, "accuracy": 0.8}}}


def make_bundled_pair(folder: Path, tiny_model: Path, monkeypatch) -> Path:
    """``folder`` with default.genre (the tiny model as is) and accurate.genre (calibrated, T = 3, with a
    selection entry); genrekit.predict is pointed at it."""
    from genrekit.models.calibration import calibrate_file

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tiny_model, folder / "default.genre")
    calibrate_file(tiny_model, folder / "accurate.genre", 3.0, fit_on="test", card_extra={"selection": SELECTION})
    monkeypatch.setattr("genrekit.predict.BUNDLED_DIR", folder)
    monkeypatch.setattr("genrekit.predict.BUNDLED_MODEL", folder / "default.genre")
    return folder
