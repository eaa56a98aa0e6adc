"""Concatenate feature sets: ``get_feature_set("default+musicnn")``.

Hand-crafted and learned features complement each other, and a model on both
needs one vector per window. Each member sees the window at its own sample
rate (resampled with soxr from the first member's rate, which the combination
takes as its own), so every member computes exactly what it computes alone.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from genrekit.errors import ConfigError
from genrekit.features.base import Column, FeatureSet

SEPARATOR = "+"


class CombinedFeatureSet(FeatureSet):
    """The columns of each member, side by side, in member order."""

    version = "1"

    def __init__(self, members: Sequence[FeatureSet]) -> None:
        if len(members) < 2:
            raise ConfigError("a combined feature set needs at least two members")
        self.members = list(members)
        self.name = SEPARATOR.join(m.name for m in self.members)  # type: ignore[misc]
        self.sample_rate = self.members[0].sample_rate
        self._columns = tuple(c for m in self.members for c in m.columns)
        names = [c.name for c in self._columns]
        if len(set(names)) != len(names):
            raise ConfigError(f"feature sets {self.name!r} share column names; they cannot be combined")

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def options(self) -> dict[str, Any]:
        return {"members": [m.config() for m in self.members]}

    def set_threads(self, threads: int | None) -> None:
        super().set_threads(threads)
        for member in self.members:
            member.set_threads(threads)

    def _at_member_rate(self, windows: Sequence[np.ndarray], sr: int, member: FeatureSet) -> list[np.ndarray]:
        from genrekit.audio import resample

        return [resample(w, sr, member.sample_rate) for w in windows]

    def extract(self, y: np.ndarray, sr: int) -> np.ndarray:
        return self.extract_many([y], sr)[0]

    def extract_many(self, windows: Sequence[np.ndarray], sr: int) -> np.ndarray:
        if sr != self.sample_rate:
            raise ConfigError(f"{self.name} expects audio at {self.sample_rate} Hz, got {sr} Hz")
        if not windows:
            return np.zeros((0, len(self._columns)))
        blocks = [m.extract_many(self._at_member_rate(windows, sr, m), m.sample_rate) for m in self.members]
        return np.concatenate(blocks, axis=1)


