"""Comparing a feature vector with librosa oracle values column by column."""

from __future__ import annotations

import numpy as np

RTOL = 1e-3
"""Relative tolerance every column meets against librosa."""
ATOL = 1e-5
"""Absolute tolerance for values near zero (means of waveforms around 1e-6, MFCC means of silence)."""


def assert_columns_match(names: list[str], values: np.ndarray, reference: dict[str, float], label: str = "") -> None:
    """Every column in ``reference`` within ``RTOL`` relative or ``ATOL`` absolute of ``values``; names the worst."""
    ours = dict(zip(names, values.tolist()))
    assert set(reference) <= set(ours), f"columns missing: {sorted(set(reference) - set(ours))}"
    bad = [
        (name, ours[name], ref)
        for name, ref in reference.items()
        if not abs(ours[name] - ref) <= ATOL + RTOL * abs(ref)
    ]
    assert not bad, f"{label}: {len(bad)} columns differ from librosa, e.g. {bad[:5]}"
