"""The ``musicnn`` feature set: pretrained musicnn-family embeddings of each analysis window.

Each window (16 kHz, mono) is cut into 3-second log-mel patches; each patch
goes through one of musicnn's four networks (``model``: ``MSD_musicnn``,
``MTT_musicnn``, ``MSD_vgg``, ``MTT_vgg``), and the chosen layers are pooled
over the window's patches. By default: the penultimate layer (200 units, the
representation musicnn's authors recommend for transfer) by mean and by max,
400 columns; ``tags=True`` adds the mean score of each of the model's 50 tags.
A window shorter than one patch (2.99 s) is repeat-padded to one patch, as
musicnn's training did for short clips.

Richer representations (``layers``, ``pooling``):

* ``penultimate``: what the output layer reads: musicnn's dense layer (200
  units), vgg's last pooling flattened (256 = 2 time steps x 128 filters);
* ``midend``: the deepest convolutional features, pooled within each patch:
  musicnn's mid-end (front-end and three mid-end convs, 753 features) by max
  and mean over time, as its back-end does (1506 values); vgg's last conv
  block by max and mean over its 11 x 6 time-frequency positions (256);
* ``taggram``: the 50 tag probabilities;
* ``pooling``: over the window's patches, any of ``mean``, ``max``, ``std``.

Without ``layers`` and ``pooling``, a musicnn-architecture network gives the
columns and options this set always had (``musicnn_mean_000`` ...), so
feature tables and model files made before still match; with either given
(or with a vgg network) the columns are named after the network and layer
(``msd_vgg_midend_mean_tmax000``, ``mtt_musicnn_taggram_std_guitar``), so
that sets over different networks combine side by side
(``CombinedFeatureSet``; e.g. MSD and MTT penultimate layers:
``layers=["penultimate"]`` on both). The networks ship in the package
(:mod:`genrekit.musicnn.paths`); nothing needs installing.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from genrekit.errors import ConfigError
from genrekit.features.base import Column, FeatureSet
from genrekit.musicnn.labels import labels_for, slug
from genrekit.musicnn.paths import DEFAULT_MODEL, architecture, check_model_name

N_PENULTIMATE = 200
LAYERS = ("penultimate", "midend", "taggram")
POOLINGS = ("mean", "max", "std")
DEFAULT_LAYERS = ("penultimate",)
DEFAULT_POOLING = ("mean", "max")
_POOL_WORDS = {"mean": "mean", "max": "maximum", "std": "standard deviation"}
WIDTHS = {"musicnn": {"penultimate": 200, "midend": 753}, "vgg": {"penultimate": 256, "midend": 128}}
"""Units per patch: ``midend`` is that many features, each pooled by max and by mean within the patch."""


def _choices(value: str | Sequence[str], allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else tuple(value)
    if not items or any(not isinstance(v, str) or v not in allowed for v in items) or len(set(items)) != len(items):
        raise ConfigError(f"{what} must be one or more distinct of {', '.join(allowed)}; got {value!r}")
    return items


class MusicnnFeatureSet(FeatureSet):
    """musicnn-family embeddings pooled over 3 s patches, optionally with tag scores.

    Parameters
    ----------
    model : ``"MSD_musicnn"`` (Million Song Dataset tags; default), ``"MTT_musicnn"`` (MagnaTagATune),
        ``"MSD_vgg"`` or ``"MTT_vgg"`` (musicnn's vgg baselines, trained on the same tags).
    tags : also output the mean score of each of the model's 50 tags.
    hop : seconds between patch starts inside a window; ``None`` (default) = 3 s, no overlap.
    layers : one or more of ``"penultimate"`` (default), ``"midend"``, ``"taggram"`` (see the module doc).
    pooling : how each layer is pooled over the window's patches: ``"mean"``, ``"max"``, ``"std"``
        (default mean and max). Giving either names the columns after the network.
    data_dir : where the networks are (default: see :mod:`genrekit.musicnn.paths`);
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
        layers: str | Sequence[str] | None = None,
        pooling: str | Sequence[str] | None = None,
    ) -> None:
        try:
            self.model = check_model_name(model)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        self.tags = bool(tags)
        if hop is not None and hop <= 0:
            raise ConfigError("hop must be > 0 seconds (or None for non-overlapping 3 s patches)")
        self.hop = None if hop is None else float(hop)
        self.data_dir = data_dir
        self._given = {"layers": layers is not None, "pooling": pooling is not None}
        self.layers = DEFAULT_LAYERS if layers is None else _choices(layers, LAYERS, "layers")
        self.pooling = DEFAULT_POOLING if pooling is None else _choices(pooling, POOLINGS, "pooling")
        self.architecture = architecture(self.model)
        self.legacy = not any(self._given.values()) and self.architecture == "musicnn"
        """The configuration this set always had: its original column names."""
        self._columns = self._make_columns()

    def _units(self, layer: str) -> list[tuple[str, str]]:
        """``(column suffix, meaning)`` of each value ``layer`` gives per patch."""
        width = WIDTHS[self.architecture].get(layer)
        if layer == "taggram":
            return [(slug(label), f"score (0-1) of the tag {label!r}") for label in labels_for(self.model)]
        if layer == "penultimate":
            what = "penultimate unit" if self.architecture == "musicnn" else "flattened last-pooling value"
            return [(f"{i:03d}", f"{what} {i}") for i in range(width)]
        where = "time" if self.architecture == "musicnn" else "time and frequency"
        feature = "mid-end feature" if self.architecture == "musicnn" else "last-conv-block filter"
        return [(f"t{stat}{i:03d}", f"{feature} {i}, {stat} over {where} within the patch")
                for stat in ("max", "mean") for i in range(width)]

    def _make_columns(self) -> tuple[Column, ...]:
        if self.legacy:
            cols = [
                Column(f"musicnn_{stat}_{i:03d}",
                       f"{word} over 3 s patches of {self.model} penultimate unit {i} (batch-normalised ReLU)")
                for stat, word in (("mean", "mean"), ("max", "maximum"))
                for i in range(N_PENULTIMATE)
            ]
            tag_prefix = "musicnn_tag"
        else:
            prefix = slug(self.model)
            cols = [
                Column(f"{prefix}_{layer}_{stat}_{suffix}", f"{_POOL_WORDS[stat]} over 3 s patches of {self.model} {meaning}")
                for layer in self.layers
                for stat in self.pooling
                for suffix, meaning in self._units(layer)
            ]
            tag_prefix = f"{prefix}_tag"
        if self.tags:
            cols += [
                Column(f"{tag_prefix}_{slug(label)}", f"mean {self.model} score (0-1) of the tag {label!r} over 3 s patches")
                for label in labels_for(self.model)
            ]
        return tuple(cols)

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"model": self.model, "tags": self.tags, "hop": self.hop}
        if self._given["layers"]:  # only when given, so the default's config (and hash) is the one it always had
            options["layers"] = list(self.layers)
        if self._given["pooling"]:
            options["pooling"] = list(self.pooling)
        return options

    def _network(self):
        from genrekit.musicnn.model import load

        return load(self.model, self.data_dir, threads=self.threads)

    def extract(self, y: np.ndarray, sr: int) -> np.ndarray:
        return self.extract_many([y], sr)[0]

    def extract_many(self, windows: Sequence[np.ndarray], sr: int) -> np.ndarray:
        """All patches of all windows go through the network together; ``(n_windows, n_columns)`` float64."""
        if len(windows) == 0:
            return np.zeros((0, len(self.columns)))
        outputs = self._network().analyze_many(list(windows), sr, hop=self.hop, midend="midend" in self.layers)
        rows = []
        for out in outputs:
            parts = []
            for layer in self.layers:
                values = {"penultimate": out.penultimate, "midend": out.midend, "taggram": out.taggram}[layer]
                parts += [_pool(values, stat) for stat in self.pooling]
            if self.tags:
                parts.append(out.tag_scores)
            rows.append(np.concatenate(parts))
        return np.asarray(rows, dtype=np.float64)


def _pool(values: np.ndarray, stat: str) -> np.ndarray:
    """``(n_patches, n)`` -> ``(n,)``: mean, max or (population) standard deviation over patches."""
    if stat == "mean":
        return values.mean(axis=0)
    if stat == "max":
        return values.max(axis=0)
    return values.astype(np.float64).std(axis=0)


__all__ = ["LAYERS", "POOLINGS", "MusicnnFeatureSet"]
