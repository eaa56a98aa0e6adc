"""Score every model on the shelf on one labelled collection, once each, in one background thread.

A card's figures are what its trainer measured; this is the same measurement
(:func:`genrekit.training.evaluate`, whole tracks) on data the operator
holds back, shown beside the claim. One model at a time, so scoring never
takes more than one core from serving. The collection's files are never
served; clients see only its name and the scores.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any

from genrekit.datasets import Record, load_dataset
from genrekit.training import evaluate

log = logging.getLogger("genrekit.serve")

PREFERRED_SPLITS = ("test", "valid")
"""The split scored when the collection has one (the first present), so a model trained on the
collection's own train split is not scored on its training data; else every record."""


def collection_name(collection: Path) -> str:
    """How clients see the collection: its folder (and file) name, not where it lives on the server."""
    return f"{collection.parent.name}/{collection.name}" if collection.is_file() else collection.name


def scored_split(records: list[Record]) -> str:
    present = {r.split for r in records if r.label is not None}
    return next((split for split in PREFERRED_SPLITS if split in present), "all")


class BenchmarkRunner:
    """A queue of models to score and each one's state (``pending``, ``running``, ``done``, ``failed``)."""

    def __init__(self, collection: str | Path | None) -> None:
        self.collection = Path(collection) if collection is not None else None
        self._states: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._jobs: queue.Queue[tuple[str, Path] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._records: list[Record] | None = None

    @property
    def enabled(self) -> bool:
        return self.collection is not None

    def state(self, model_id: str) -> dict[str, Any]:
        if self.collection is None:
            return {"status": "off", "accuracy": None, "balanced_accuracy": None, "n_tracks": None, "collection": None}
        with self._lock:
            return dict(self._states.get(model_id) or self._blank("pending"))

    def submit(self, model_id: str, path: Path) -> None:
        """Queue ``path`` to be scored (once: a model already queued or scored is left as it is)."""
        if self.collection is None:
            return
        with self._lock:
            if model_id in self._states:
                return
            self._states[model_id] = self._blank("pending")
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="genrekit-benchmark", daemon=True)
                self._thread.start()
        self._jobs.put((model_id, path))

    def close(self) -> None:
        self._jobs.put(None)

    def _blank(self, status: str) -> dict[str, Any]:
        assert self.collection is not None
        return {"status": status, "accuracy": None, "balanced_accuracy": None, "n_tracks": None,
                "collection": collection_name(self.collection), "split": None}

    def _set(self, model_id: str, **fields: Any) -> None:
        with self._lock:
            self._states[model_id] = self._states[model_id] | fields

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            model_id, path = job
            self._set(model_id, status="running")
            try:
                self._set(model_id, status="done", **self._score(path))
            except Exception as error:  # one model's failure (labels it lacks, unreadable files) is its own
                message = str(error).replace(str(self.collection), collection_name(self.collection))
                log.warning("benchmark of model %s failed: %s", model_id, message)
                self._set(model_id, status="failed", message=message)

    def _score(self, path: Path) -> dict[str, Any]:
        assert self.collection is not None
        if self._records is None:
            self._records = load_dataset(self.collection)
        split = scored_split(self._records)
        result = evaluate(path, self._records, split=split)
        return {"accuracy": result.metrics["accuracy"], "balanced_accuracy": result.metrics["balanced_accuracy"],
                "n_tracks": result.metrics["n_samples"], "split": split}
