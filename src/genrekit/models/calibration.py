"""Calibrated confidence: a fitted temperature written into a model file's own graph.

The temperature (:func:`genrekit.evaluation.fit_temperature`, fit on
held-out predictions) becomes the last nodes of ``model.onnx``: the graph's
probabilities ``p`` go through ``softmax(log(max(p, 1e-12)) / T)``, the map
:func:`genrekit.evaluation.apply_temperature` computes. Putting it in the
graph rather than in Python means every path that runs a model (prediction,
evaluation, an ensemble's members, the web service) applies it without
knowing about it, and files written before calibration existed run exactly
as they did. The card records what was done (:class:`~genrekit.models.card.CalibrationSpec`).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from genrekit.errors import ConfigError
from genrekit.models import bundle
from genrekit.models.card import CalibrationSpec, OnnxSpec

FLOOR = 1e-12
"""Probabilities are floored before the log, as :func:`genrekit.evaluation.apply_temperature` does."""


def tempered_graph(model_bytes: bytes, temperature: float, output: str = bundle.OUTPUT_NAME) -> bytes:
    """``model_bytes`` with ``output`` replaced by its tempered probabilities (same name, same shape)."""
    import numpy as np
    import onnx  # deferred: building graphs is for training, not for prediction
    from onnx import helper, numpy_helper

    if not (np.isfinite(temperature) and temperature > 0):
        raise ConfigError(f"temperature must be a positive number, got {temperature!r}")
    proto = onnx.load_model_from_string(model_bytes)
    graph = proto.graph
    if output not in [o.name for o in graph.output]:
        raise ConfigError(f"the graph has no output {output!r}")
    raw = f"{output}_before_temperature"
    for node in graph.node:
        node.output[:] = [raw if name == output else name for name in node.output]
        node.input[:] = [raw if name == output else name for name in node.input]
    graph.initializer.extend([
        numpy_helper.from_array(np.array(FLOOR, dtype=np.float32), "temperature_floor"),
        numpy_helper.from_array(np.array(1.0 / temperature, dtype=np.float32), "inverse_temperature"),
    ])
    graph.node.extend([
        helper.make_node("Max", [raw, "temperature_floor"], ["temperature_floored"], name="temperature_floor"),
        helper.make_node("Log", ["temperature_floored"], ["temperature_log"], name="temperature_log"),
        helper.make_node("Mul", ["temperature_log", "inverse_temperature"], ["temperature_scaled"],
                         name="temperature_scale"),
        helper.make_node("Softmax", ["temperature_scaled"], [output], axis=1, name="temperature_softmax"),
    ])
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def calibrate_file(path: str | os.PathLike[str], out: str | os.PathLike[str], temperature: float, *, fit_on: str,
                   figures: Mapping[str, Any] | None = None, card_extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``out``: the model file ``path`` with ``temperature`` in its graph and recorded in its card.

    ``fit_on`` says which held-out predictions the temperature was fit on;
    ``figures`` (e.g. ECE before and after) go into the card's
    ``calibration`` entry, ``card_extra`` into its top level. Raises
    :class:`ConfigError` for a model that is already calibrated: tempering
    twice would silently compound.
    """
    model = bundle.load_model(path)
    card = model.card
    if card.calibration is not None:
        raise ConfigError(f"{path}: already calibrated (temperature {card.calibration.temperature:g})")
    spec = card.onnx or OnnxSpec()
    files = model.files()
    graph = tempered_graph(files[spec.member], temperature, spec.output)
    others = {name: data for name, data in files.items() if name not in (bundle.CARD_MEMBER, spec.member)}
    calibrated = replace(card, calibration=CalibrationSpec("temperature", float(temperature), fit_on, dict(figures or {})),
                         extra=card.extra | dict(card_extra or {}), card_sha256=None, onnx=None, members={}, created_at=None)
    return bundle.save_model(out, graph, calibrated, extra_members=others)


__all__ = ["FLOOR", "calibrate_file", "tempered_graph"]
