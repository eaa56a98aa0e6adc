"""The top-level Python API mirrors the command line, and importing the CLI stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import genrekit
from synth import sine


def test_top_level_functions_train_evaluate_and_predict(tiny_collection: Path, tmp_path: Path, write_audio):
    out = tmp_path / "api.genre"
    result = genrekit.train(tiny_collection, out, "logreg", {"feature_set": "seed", "window": 1.0})
    assert result.path == out and result.validation["split"] == "valid"

    scores = genrekit.evaluate(out, tiny_collection, split="valid")
    assert scores.metrics["balanced_accuracy"] == 1.0

    model = genrekit.load_model(out)
    prediction = model.predict(write_audio("tone.wav", sine(550.0, seconds=2.0)))
    assert prediction.genre == "tones"
    assert model.labels == ["noise", "tones"]


def test_importing_the_cli_loads_no_torch_numba_or_librosa():
    code = (
        "import sys, genrekit.cli; "
        "print(','.join(m for m in ('torch', 'numba', 'librosa', 'sklearn', 'onnxruntime') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    assert loaded == ""
