"""The ``musicnn`` feature set: pretrained musicnn embeddings of each analysis window.

Each window (16 kHz, mono) is cut into 3-second log-mel patches; musicnn's
penultimate layer (200 units, the representation its authors recommend for
transfer) is pooled over the patches by mean and by max, giving 400 columns;
``tags=True`` adds the mean score of each of the model's 50 tags. A window
shorter than one patch (2.99 s) is repeat-padded to one patch, as musicnn's
training did for short clips.

The weights are loaded on first use from the folder ``genrekit models install
musicnn`` writes to (``$GENREKIT_DATA/models/musicnn`` by default); a clear
error says so when they are absent.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from genrekit.errors import ConfigError
from genrekit.features.base import Column, FeatureSet
from genrekit.musicnn.labels import labels_for, slug
from genrekit.musicnn.paths import DEFAULT_MODEL, check_model_name

N_PENULTIMATE = 200


class MusicnnFeatureSet(FeatureSet):
    """musicnn penultimate-layer embeddings (mean and max over 3 s patches), optionally with tag scores.

    Parameters
    ----------
    model : ``"MSD_musicnn"`` (Million Song Dataset tags; default) or ``"MTT_musicnn"`` (MagnaTagATune).
    tags : also output the mean score of each of the model's 50 tags.
    hop : seconds between patch starts inside a window; ``None`` (default) = 3 s, no overlap.
    data_dir : where the converted weights are (default: see :mod:`genrekit.musicnn.paths`);
        not part of :meth:`config` since it does not change the numbers.
    """

    name = "musicnn"
    version = "1"
    sample_rate = 16000

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        tags: bool = False,
        hop: float | None = None,
        data_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.model = check_model_name(model)
        self.tags = bool(tags)
        if hop is not None and hop <= 0:
            raise ConfigError("hop must be > 0 seconds (or None for non-overlapping 3 s patches)")
        self.hop = None if hop is None else float(hop)
        self.data_dir = data_dir
        self._columns = self._make_columns()

    def _make_columns(self) -> tuple[Column, ...]:
        cols = [
            Column(
                f"musicnn_{stat}_{i:03d}", f"{word} over 3 s patches of {self.model} penultimate unit {i} (batch-normalised ReLU)"
            )
            for stat, word in (("mean", "mean"), ("max", "maximum"))
            for i in range(N_PENULTIMATE)
        ]
        if self.tags:
            cols += [
                Column(f"musicnn_tag_{slug(label)}", f"mean {self.model} score (0-1) of the tag {label!r} over 3 s patches")
                for label in labels_for(self.model)
            ]
        return tuple(cols)

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def options(self) -> dict[str, Any]:
        return {"model": self.model, "tags": self.tags, "hop": self.hop}

    def _network(self):
        from genrekit.musicnn.model import load

        return load(self.model, self.data_dir)

    def extract(self, y: np.ndarray, sr: int) -> np.ndarray:
        return self.extract_many([y], sr)[0]

    def extract_many(self, windows: Sequence[np.ndarray], sr: int) -> np.ndarray:
        """All patches of all windows go through the network together; ``(n_windows, n_columns)`` float64."""
        if len(windows) == 0:
            return np.zeros((0, len(self.columns)))
        outputs = self._network().analyze_many(list(windows), sr, hop=self.hop)
        rows = []
        for out in outputs:
            parts = [out.embedding(("mean", "max"))]
            if self.tags:
                parts.append(out.tag_scores)
            rows.append(np.concatenate(parts))
        return np.asarray(rows, dtype=np.float64)


__all__ = ["MusicnnFeatureSet"]
