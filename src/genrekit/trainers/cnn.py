"""Train a CNN on log-mel patches with torch, and write it as a ``.genre`` file (ONNX inside).

Data path: every training track is decoded once and turned into its mel
power spectrogram (kept in memory: ~0.5 MB per 30 s track); each step draws
random ``n_frames`` crops (the time-shift augmentation) from tracks chosen
class-balanced (every label equally likely, then a track uniformly), applies
a random gain (on the mel power, before the log), compresses, masks time
and frequency stripes (SpecAugment) and mixes pairs (mixup). Nothing goes
through the feature cache: patches of random crops are never reused.

``--init musicnn`` trains above a frozen front-end (``arch={"fine_tune":
"head"}``, the default, trains the new genre head alone: on GTZAN it beat
fine-tuning from the mid-end up over 3 seeds, see docs/results.md). The front-end is then run once, before training, on patches
cut every ``cache_stride`` seconds of each training track (each with its own
random gain) and on every held-out window, and the steps train the layers
above it on those cached outputs (crops
= a random cached patch; time masks zero stretches of the front-end output;
frequency masks, which need the front-end, are not applied; mixup as
usual). The front-end is most of musicnn's compute, so this is what fits
fine-tuning into a CPU budget; ``fine_tune="all"`` trains everything from
log-mel crops, as for ``scratch``.

Early stopping scores every epoch exactly as prediction would: windows of
the patch length cut every ``hop`` seconds, the feature set's own patches,
window probabilities aggregated per track. It keeps the epoch with the best
track-level balanced accuracy (ties: lower loss) on held-out tracks: by
default a fifth of the train split (grouped, stratified), so that the valid
split is first seen by the finished model (``stop_on="valid"`` stops on the
valid split instead, and says its figures are optimistic).

Determinism: each epoch reseeds numpy and torch from ``(seed, epoch)``, so
a run resumed from its checkpoint (written after every epoch, next to the
output as ``<out>.ckpt``) ends with the same weights as an uninterrupted run.
The checkpoint is a torch file loaded with ``weights_only=True`` (tensors
and plain containers only); it is deleted once the model file is written.

torch is optional (``genrekit[train]``): it and the modules built on it
(:mod:`genrekit.models.cnn.arch`, :mod:`~genrekit.models.cnn.export`) are
imported inside the functions that train, so this module, and the config,
import without it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from genrekit.audio import Windowing, cut_windows, load_audio
from genrekit.errors import ConfigError, DatasetError
from genrekit.evaluation import grouped_folds, track_scores
from genrekit.features import get_feature_set
from genrekit.models import bundle
from genrekit.models.card import ModelCard, ModelInfo, TrainingSummary, ValidationSummary
from genrekit.models.cnn import FINE_TUNE_LEVELS, TORCH_HINT
from genrekit.store import Failure
from genrekit.trainers.base import (
    RunOptions,
    Source,
    TrainResult,
    check_labels,
    split_for_training,
    training_split_name,
)


INITS = ("scratch", "musicnn")
STOP_ON = ("train", "valid")


@dataclass(frozen=True)
class CNNConfig:
    """Hyper-parameters of a CNN training run (recorded in the model card).

    ``lr`` is the new layers' learning rate; pretrained layers (``--init
    musicnn``) get ``lr * pretrained_lr_scale`` and stay frozen for the first
    ``freeze_epochs`` epochs. ``crops_per_track`` random patches per training
    track make one epoch. ``max_steps`` caps the steps per epoch (tests and
    smoke runs). ``arch`` holds architecture options (e.g. ``channels``, or
    musicnn's ``fine_tune``). ``cache_stride``: seconds between the cached
    front-end patches of a frozen front-end. ``stop_on``: where early stopping
    scores each epoch: ``train`` holds out ``stop_fraction`` of the train
    split's tracks (grouped and stratified), so the valid split stays unseen
    and its figures honest; ``valid`` scores on the valid split itself
    (more training data, optimistic valid figures).

    ``init``: ``scratch`` (a small VGG on ``logmel``) or ``musicnn``
    (pretrained ``musicnn_model`` with a new head, on ``musicnn_mel``);
    ``fine_tune`` (``init="musicnn"``): how deep training reaches, one of
    :data:`~genrekit.models.cnn.FINE_TUNE_LEVELS` (default ``head``).
    ``hop``: seconds between prediction windows (default: the patch length);
    ``aggregation``: how window probabilities make a track's. ``use_all``
    trains on every file (nothing validated); ``seed`` seeds everything random.
    """

    init: str = "scratch"
    fine_tune: str | None = None
    hop: float | None = None
    aggregation: str = "mean"
    seed: int = 0
    use_all: bool = False
    musicnn_model: str = "MSD_musicnn"
    epochs: int = 40
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    pretrained_lr_scale: float = 0.1
    freeze_epochs: int = 1
    crops_per_track: int = 10
    patience: int = 8
    gain_db: float = 6.0
    time_masks: int = 2
    time_mask_frames: int = 20
    freq_masks: int = 2
    freq_mask_bands: int = 12
    mixup_alpha: float = 0.2
    cache_stride: float = 1.0
    stop_on: str = "train"
    stop_fraction: float = 0.2
    max_steps: int | None = None
    arch: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.init not in INITS:
            raise ConfigError(f"unknown init {self.init!r}; choose from {', '.join(INITS)}")
        if self.epochs < 1:
            raise ConfigError("epochs must be >= 1")
        if self.stop_on not in STOP_ON:
            raise ConfigError(f"unknown stop_on {self.stop_on!r}; choose from {', '.join(STOP_ON)}")
        if self.fine_tune is not None and (self.init != "musicnn" or self.fine_tune not in FINE_TUNE_LEVELS):
            raise ConfigError(f"fine_tune is for init='musicnn', one of {', '.join(FINE_TUNE_LEVELS)}")

    @property
    def architecture(self) -> dict[str, Any]:
        """The network's options: ``arch`` plus ``fine_tune`` when set."""
        return self.arch | ({"fine_tune": self.fine_tune} if self.fine_tune else {})

    def fingerprint(self, extra: dict[str, Any]) -> str:
        """What a checkpoint must match to be resumed (``epochs`` and ``patience`` may change)."""
        run_fields = ("epochs", "patience", "fine_tune", "hop", "aggregation", "seed", "use_all", "musicnn_model")
        body = {k: v for k, v in asdict(self).items() if k not in run_fields} | {"arch": self.architecture} | extra
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CNNProgress:
    """One progress report: ``phase`` is ``decode``, ``cache`` (a frozen front-end's outputs), ``train`` or
    ``held_out`` (an epoch's scores on the early-stopping tracks); ``step``/``steps`` within it."""

    phase: str
    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float | None = None
    metrics: dict[str, float] | None = None


def feature_set_for(init: str, **options: Any):
    """``logmel`` for ``scratch``, ``musicnn_mel`` (musicnn's front-end) for ``musicnn``."""
    if init == "musicnn":
        return get_feature_set("musicnn_mel")
    if init == "scratch":
        return get_feature_set("logmel", **options)
    raise ConfigError(f"unknown init {init!r}; choose from {', '.join(INITS)}")


# ----------------------------------------------------------------------------- data


@dataclass
class _Tracks:
    paths: list[str]
    labels: np.ndarray  # (n,) int label index
    mels: list[np.ndarray]  # each (n_frames_total, n_mels) mel power


def _decode(records: Sequence[Any], fs: Any, label_index: dict[str, int], failures: list[Any],
            report: Callable[[int, int], None]) -> list[tuple[Any, np.ndarray]]:
    out = []
    for i, r in enumerate(records):
        try:
            out.append((r, load_audio(r.path, fs.sample_rate)))
        except Exception as error:  # a bad file is reported and skipped, as feature extraction does
            failures.append(Failure(str(r.path), type(error).__name__, str(error) or type(error).__name__))
        report(i + 1, len(records))
    return out


def _train_tracks(decoded: list[tuple[Any, np.ndarray]], fs: Any, label_index: dict[str, int]) -> _Tracks:
    return _Tracks(paths=[r.path for r, _ in decoded],
                   labels=np.array([label_index[str(r.label)] for r, _ in decoded], dtype=np.int64),
                   mels=[fs.mel_power(y) for _, y in decoded])


def _valid_windows(decoded: list[tuple[Any, np.ndarray]], fs: Any, windowing: Any) -> SimpleNamespace:
    """Patches of every prediction window of the valid tracks, and their track paths and labels."""
    X, paths, labels = [], [], []
    for r, y in decoded:
        try:
            windows = [w for _, w in cut_windows(y, fs.sample_rate, windowing, r.path)]
        except Exception:  # too short for one window: prediction would refuse it too
            continue
        X.append(fs.extract_many(windows, fs.sample_rate).astype(np.float32))
        paths += [r.path] * len(windows)
        labels += [str(r.label)] * len(windows)
    n_cols = len(fs.columns)
    return SimpleNamespace(X=np.concatenate(X) if X else np.zeros((0, n_cols), np.float32),
                           paths=np.array(paths, dtype=object), labels=np.array(labels, dtype=object))




def _stopping_split(decoded: list[tuple[Any, np.ndarray]], cfg: CNNConfig,
                    seed: int) -> tuple[list[tuple[Any, np.ndarray]], list[tuple[Any, np.ndarray]]]:
    """``(fit, stop)``: the decoded train tracks to learn from and those early stopping scores (``stop_on="train"``).

    About ``stop_fraction`` of the tracks, whole groups at a time, stratified by
    label (one fold of :func:`genrekit.evaluation.grouped_folds`; a larger
    share when a label has too few groups for that many folds). With
    ``stop_on="valid"`` every train track is learned from.
    """
    if cfg.stop_on == "valid":
        return decoded, []
    y = np.array([str(r.label) for r, _ in decoded])
    groups = np.array([str(r.group) for r, _ in decoded])
    fewest = min(len(set(groups[y == label])) for label in set(y))
    k = min(max(2, round(1 / cfg.stop_fraction)), fewest)  # small collections hold out more than stop_fraction
    if k < 2:
        raise DatasetError("early stopping on held-out train tracks needs at least two train tracks (groups) per "
                           "label; train on more data or stop on the valid split (stop_on='valid')")
    fit_idx, stop_idx = grouped_folds(y, groups, n_splits=k, seed=seed)[0]
    return [decoded[i] for i in fit_idx], [decoded[i] for i in stop_idx]


def _balanced_draw(rng: np.random.Generator, labels: np.ndarray, n: int) -> np.ndarray:
    """``n`` track indices: each label equally likely, then each of its tracks."""
    classes = np.unique(labels)
    by_class = [np.flatnonzero(labels == c) for c in classes]
    chosen = rng.integers(0, len(classes), size=n)
    return np.array([by_class[c][rng.integers(0, len(by_class[c]))] for c in chosen], dtype=np.int64)


def _batch(tracks: _Tracks, idx: np.ndarray, fs: Any, cfg: CNNConfig, rng: np.random.Generator) -> np.ndarray:
    """Random crops with random gain, compressed: ``(len(idx), n_frames, n_mels)`` float32."""
    n_frames = fs.n_frames
    out = np.empty((len(idx), n_frames, fs.n_mels), dtype=np.float32)
    for j, i in enumerate(idx):
        mel = tracks.mels[i]
        start = int(rng.integers(0, len(mel) - n_frames + 1))
        gain = np.float32(10.0 ** (rng.uniform(-cfg.gain_db, cfg.gain_db) / 10.0)) if cfg.gain_db > 0 else 1.0
        out[j] = fs.compress(mel[start:start + n_frames] * gain)
    return out


def _stripes(rng: np.random.Generator, count: int, max_width: int, length: int) -> list[slice]:
    """``count`` random stripes of at most ``max_width`` (of ``length``) to mask: SpecAugment's draw."""
    out = []
    for _ in range(count):
        w = int(rng.integers(0, min(max_width, length) + 1))
        s = int(rng.integers(0, length - w + 1))
        out.append(slice(s, s + w))
    return out


def _spec_augment(x: Any, cfg: CNNConfig, rng: np.random.Generator) -> Any:
    """Zero (= silence after log10(1 + 10000 mel)) random time and frequency stripes of each patch, in place."""
    n, t, f = x.shape
    for i in range(n):
        for band in _stripes(rng, cfg.time_masks, cfg.time_mask_frames, t):
            x[i, band, :] = 0.0
        for band in _stripes(rng, cfg.freq_masks, cfg.freq_mask_bands, f):
            x[i, :, band] = 0.0
    return x


class _MelCrops:
    """Training inputs for the whole network: augmented log-mel crops, drawn afresh every step."""

    def __init__(self, net: Any, tracks: _Tracks, held_out: SimpleNamespace | None, fs: Any, cfg: CNNConfig) -> None:
        self.net, self.tracks, self.held_out, self.fs, self.cfg = net, tracks, held_out, fs, cfg

    def batch(self, idx: np.ndarray, rng: np.random.Generator) -> Any:
        import torch  # deferred: torch is optional (genrekit[train])

        return torch.from_numpy(_spec_augment(_batch(self.tracks, idx, self.fs, self.cfg, rng), self.cfg, rng))

    def logits(self, x: Any) -> Any:
        return self.net(x)

    def held_out_probabilities(self) -> np.ndarray:
        from genrekit.models.cnn.export import torch_probabilities  # deferred: needs torch

        return torch_probabilities(self.net, self.held_out.X, self.fs.n_frames, self.fs.n_mels)


class _CachedFrontEnd:
    """Training inputs above a frozen front-end: its outputs, computed once (float16) per patch.

    Training patches start every ``cfg.cache_stride`` seconds of each track
    (the last one ends at the track's end) and get a random gain, drawn from
    ``seed``; held-out patches are their tracks' prediction windows. ``~420 KB`` of
    float32 per 3 s patch, half that as float16: ~1 GB for GTZAN's 176
    training tracks at a 1 s stride.
    """

    def __init__(self, net: Any, tracks: _Tracks, held_out: SimpleNamespace | None, fs: Any, cfg: CNNConfig,
                 seed: int, report: Callable[[CNNProgress], None]) -> None:
        self.net, self.cfg = net, cfg
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
        stride = max(1, int(round(cfg.cache_stride * fs.sample_rate / fs.hop_length)))
        patches: list[tuple[int, np.ndarray]] = []
        for i, mel in enumerate(tracks.mels):
            last = len(mel) - fs.n_frames
            for start in sorted({*range(0, last + 1, stride), last}):
                gain = 10.0 ** (rng.uniform(-cfg.gain_db, cfg.gain_db) / 10.0) if cfg.gain_db > 0 else 1.0
                patches.append((i, fs.compress(mel[start:start + fs.n_frames] * np.float32(gain))))
        n_held_out = len(held_out.X) if held_out is not None else 0
        total = len(patches) + n_held_out
        owners = np.array([i for i, _ in patches])
        front = self._front_end([p for _, p in patches], fs, report, 0, total)
        self.front = [front[owners == i] for i in range(len(tracks.mels))]
        self.held_out_front = (self._front_end(list(held_out.X.reshape(n_held_out, fs.n_frames, fs.n_mels)), fs, report,
                                            len(patches), total) if n_held_out else None)

    def _front_end(self, patches: list[np.ndarray], fs: Any, report: Callable[[CNNProgress], None],
                   done: int, total: int, batch: int = 32) -> Any:
        import torch

        out = []
        was_training = self.net.training
        self.net.eval()
        with torch.inference_mode():
            for j in range(0, len(patches), batch):
                x = torch.from_numpy(np.stack(patches[j:j + batch]).astype(np.float32))
                out.append(self.net.front_end(x).to(torch.float16))
                report(CNNProgress("cache", 0, self.cfg.epochs, done + min(j + batch, len(patches)), total))
        self.net.train(was_training)
        return torch.cat(out)

    def batch(self, idx: np.ndarray, rng: np.random.Generator) -> Any:
        import torch

        x = torch.stack([self.front[i][int(rng.integers(0, len(self.front[i])))] for i in idx]).float()
        for i in range(len(idx)):
            for band in _stripes(rng, self.cfg.time_masks, self.cfg.time_mask_frames, x.shape[2]):
                x[i, :, band] = 0.0
        return x

    def logits(self, x: Any) -> Any:
        return self.net.back_end(x)

    def held_out_probabilities(self, batch: int = 64) -> np.ndarray:
        import torch

        was_training = self.net.training
        self.net.eval()
        with torch.inference_mode():
            out = [torch.softmax(self.net.back_end(self.held_out_front[i:i + batch].float()), dim=1).numpy()
                   for i in range(0, len(self.held_out_front), batch)]
        self.net.train(was_training)
        return np.concatenate(out)


def _training_inputs(net: Any, tracks: _Tracks, held_out: SimpleNamespace | None, fs: Any, cfg: CNNConfig, seed: int,
                     report: Callable[[CNNProgress], None]) -> _MelCrops | _CachedFrontEnd:
    if getattr(net, "frozen_front_end", False):
        return _CachedFrontEnd(net, tracks, held_out, fs, cfg, seed, report)
    return _MelCrops(net, tracks, held_out, fs, cfg)


# ----------------------------------------------------------------------------- loop


def _evaluate(inputs: _MelCrops | _CachedFrontEnd, held_out: SimpleNamespace, labels: list[str],
              aggregation: str) -> dict[str, float]:
    probs = inputs.held_out_probabilities().astype(np.float64)
    probs /= probs.sum(axis=1, keepdims=True)
    metrics, _, _ = track_scores(held_out, probs, labels, aggregation)
    return {"balanced_accuracy": float(metrics["balanced_accuracy"]), "accuracy": float(metrics["accuracy"]),
            "log_loss": float(metrics["log_loss"])}


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    import torch

    from genrekit.fileio import atomic_write

    atomic_write(path, lambda f: torch.save(state, f))


def fit(net: Any, tracks: _Tracks, held_out: SimpleNamespace | None, labels: list[str], fs: Any, cfg: CNNConfig, *,
        seed: int, aggregation: str, checkpoint: Path | None, fingerprint: str,
        progress: Callable[[CNNProgress], None] | None = None) -> dict[str, Any]:
    """Train ``net`` in place (ends holding the best epoch's weights); returns the training history."""
    import torch
    from torch.nn import functional as F

    report = progress or (lambda _p: None)
    optimizer = torch.optim.AdamW(net.param_groups(cfg.lr, cfg.pretrained_lr_scale), weight_decay=cfg.weight_decay)
    state = {"epoch": 0, "history": [], "best": None, "best_state": None, "best_epoch": None, "bad_epochs": 0}
    if checkpoint is not None and checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=True)
        if saved.get("fingerprint") != fingerprint:
            raise ConfigError(f"{checkpoint}: a checkpoint of a different training run (other data or settings); "
                              "delete it to start afresh")
        net.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state = saved["loop"]
    resumed_from = state["epoch"]
    steps = max(1, (len(tracks.paths) * cfg.crops_per_track) // cfg.batch_size)
    if cfg.max_steps is not None:
        steps = min(steps, cfg.max_steps)
    has_freeze = hasattr(net, "set_pretrained_trainable")
    inputs = _training_inputs(net, tracks, held_out, fs, cfg, seed, report)

    while state["epoch"] < cfg.epochs and (held_out is None or state["bad_epochs"] < cfg.patience):
        epoch = state["epoch"]
        rng = np.random.default_rng(_epoch_seed(seed, epoch))
        torch.manual_seed(_epoch_seed(seed, epoch))
        if has_freeze:
            net.set_pretrained_trainable(epoch >= cfg.freeze_epochs)
        net.train()
        draws = _balanced_draw(rng, tracks.labels, steps * cfg.batch_size)
        total = 0.0
        for step in range(steps):
            idx = draws[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            xb = inputs.batch(idx, rng)
            yb = torch.from_numpy(tracks.labels[idx])
            if cfg.mixup_alpha > 0 and len(idx) > 1:
                lam = float(rng.beta(cfg.mixup_alpha, cfg.mixup_alpha))
                perm = torch.from_numpy(rng.permutation(len(idx)))
                logits = inputs.logits(lam * xb + (1 - lam) * xb[perm])
                loss = lam * F.cross_entropy(logits, yb) + (1 - lam) * F.cross_entropy(logits, yb[perm])
            else:
                loss = F.cross_entropy(inputs.logits(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
            report(CNNProgress("train", epoch + 1, cfg.epochs, step + 1, steps, loss=total / (step + 1)))
        entry: dict[str, Any] = {"epoch": epoch + 1, "train_loss": total / steps}
        if held_out is not None and len(held_out.X):
            metrics = _evaluate(inputs, held_out, labels, aggregation)
            entry |= {f"valid_{k}": v for k, v in metrics.items()}
            score = (metrics["balanced_accuracy"], -metrics["log_loss"])
            if state["best"] is None or score > tuple(state["best"]):
                state["best"], state["best_epoch"], state["bad_epochs"] = list(score), epoch + 1, 0
                state["best_state"] = copy.deepcopy(net.state_dict())
            else:
                state["bad_epochs"] += 1
            report(CNNProgress("held_out", epoch + 1, cfg.epochs, steps, steps, loss=entry["train_loss"], metrics=metrics))
        state["history"].append(entry)
        state["epoch"] = epoch + 1
        if checkpoint is not None:
            _save_checkpoint(checkpoint, {"fingerprint": fingerprint, "model": net.state_dict(),
                                          "optimizer": optimizer.state_dict(), "loop": state})
    if state["best_state"] is not None:
        net.load_state_dict(state["best_state"])
    net.eval()
    return {"history": state["history"], "best_epoch": state["best_epoch"] or state["epoch"],
            "epochs_run": state["epoch"], "resumed_from_epoch": resumed_from,
            "stopped_early": held_out is not None and state["bad_epochs"] >= cfg.patience and state["epoch"] < cfg.epochs}


# ----------------------------------------------------------------------------- entry point

HALF_ATOL = 1e-2  # float16 weights move probabilities by ~1e-3 (musicnn fine-tuned, GTZAN valid patches)


def train_cnn(source: Source, out: str | os.PathLike[str], config: CNNConfig | None = None, *,
              checkpoint: str | os.PathLike[str] | None = None, keep_checkpoint: bool = False,
              musicnn_dir: str | os.PathLike[str] | None = None, run: RunOptions | None = None) -> TrainResult:
    """Train a CNN on ``source``'s train split, validate on its valid split, write a ``.genre`` file to ``out``.

    ``checkpoint`` defaults to ``<out>.ckpt`` (deleted at the end unless
    ``keep_checkpoint``); ``musicnn_dir``: where the musicnn weights are
    (default: the installed ones). ``run.progress`` gets :class:`CNNProgress`.
    """
    try:
        import torch  # deferred: torch is optional (genrekit[train])
    except ImportError as error:
        raise ConfigError(TORCH_HINT) from error
    from genrekit.models.cnn.arch import build_network, count_parameters, load_musicnn  # deferred: need torch
    from genrekit.models.cnn.export import check_export, export_onnx, store_weights_as_float16

    cfg = config or CNNConfig()
    run = run or RunOptions()
    started = time.perf_counter()
    train_records, valid_records = split_for_training(source, use_all=cfg.use_all)
    labels = sorted({str(r.label) for r in train_records})
    check_labels(source, labels)
    valid_records = [r for r in valid_records if str(r.label) in labels]
    label_index = {label: i for i, label in enumerate(labels)}

    torch.manual_seed(cfg.seed)
    fs = feature_set_for(cfg.init)
    windowing = Windowing(window=fs.patch_seconds, hop=cfg.hop)
    report = run.progress or (lambda _p: None)
    failures: list[Any] = []
    n_all = len(train_records) + len(valid_records)

    def decode_report(offset: int) -> Callable[[int, int], None]:
        return lambda done, _total: report(CNNProgress("decode", 0, cfg.epochs, offset + done, n_all))

    decoded_train = _decode(train_records, fs, label_index, failures, decode_report(0))
    decoded_valid = _decode(valid_records, fs, label_index, failures, decode_report(len(train_records)))
    if not decoded_train:
        raise DatasetError(f"{source}: none of the training files could be read")
    valid = _valid_windows(decoded_valid, fs, windowing) if decoded_valid else None
    decoded_fit, decoded_stop = _stopping_split(decoded_train, cfg, cfg.seed)
    tracks = _train_tracks(decoded_fit, fs, label_index)
    fit_records = [r for r, _ in decoded_fit]
    held_out = valid if cfg.stop_on == "valid" else (_valid_windows(decoded_stop, fs, windowing) if decoded_stop else None)
    del decoded_train, decoded_valid, decoded_fit, decoded_stop

    net = build_network(cfg.init, len(labels), fs.n_mels, **cfg.architecture)
    pretrained = None
    if cfg.init == "musicnn":
        from genrekit.musicnn.paths import weights_file
        from genrekit.musicnn.weights import load_weights

        wfile = weights_file(cfg.musicnn_model, musicnn_dir)
        load_musicnn(net, load_weights(wfile))
        pretrained = {"model": cfg.musicnn_model, "weights_sha256": hashlib.sha256(wfile.read_bytes()).hexdigest()}

    out = Path(out)
    ckpt = Path(checkpoint) if checkpoint is not None else out.with_name(out.name + ".ckpt")
    fingerprint = cfg.fingerprint({"seed": cfg.seed, "labels": labels, "feature_set": fs.config(),
                                   "tracks": sorted(map(str, tracks.paths)), "aggregation": cfg.aggregation,
                                   "hop": windowing.as_dict()})
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    history = fit(net, tracks, held_out, labels, fs, cfg, seed=cfg.seed, aggregation=cfg.aggregation,
                  checkpoint=ckpt, fingerprint=fingerprint, progress=run.progress)
    train_seconds = time.perf_counter() - started

    full = export_onnx(net, fs.n_frames, fs.n_mels, labels)
    probe = valid.X[:16] if valid is not None and len(valid.X) else fs.compress(tracks.mels[0][: fs.n_frames])[None].reshape(1, -1)
    export_error = check_export(full, net, probe, fs.n_frames, fs.n_mels)
    proto = store_weights_as_float16(full)  # what ships, and what validation below scores
    half_error = check_export(proto, net, probe, fs.n_frames, fs.n_mels, atol=HALF_ATOL)
    model_bytes = proto.SerializeToString()

    card = ModelCard.build(
        labels=labels, feature_set=fs, windowing=windowing, aggregation=cfg.aggregation,
        model=ModelInfo("cnn", {
            "init": cfg.init, "architecture": type(net).__name__, "fine_tune": getattr(net, "fine_tune", "all"),
            "parameters": count_parameters(net), "seed": cfg.seed, "config": asdict(cfg), "pretrained": pretrained,
            "best_epoch": history["best_epoch"], "epochs_run": history["epochs_run"],
            "stopped_early": history["stopped_early"], "resumed_from_epoch": history["resumed_from_epoch"],
            "history": history["history"], "export_max_abs_diff": export_error,
            "weights": "float16 (cast to float32 at load)", "float16_max_abs_diff": half_error,
            "trained_with": f"torch {torch.__version__}"}),
        training=TrainingSummary.of(
            source, fit_records, split=training_split_name(train_records, valid_records, cfg.use_all),
            n_windows=len(tracks.paths) * cfg.crops_per_track, failed_files=len(failures),
            early_stopping={"on": cfg.stop_on, "n_tracks": len(set(held_out.paths)) if held_out is not None else 0,
                            "patience": cfg.patience},
            windows="random crops, re-drawn every epoch (n_windows = crops per epoch)",
            seconds=round(train_seconds, 1)),
        validation=None, extra=run.card_extra)
    validation = None
    if valid is not None and len(valid.X):
        probs = bundle.draft_model(card, model_bytes).predict_proba(valid.X)
        track_metrics, _, window_metrics = track_scores(valid, probs, labels, cfg.aggregation)
        note = ("early stopping chose the epoch on this split, so these figures are optimistic"
                if cfg.stop_on == "valid" else "unseen during training: early stopping used held-out train tracks")
        card = replace(card, validation=ValidationSummary.of(track_metrics, window_metrics, note=note))
        validation = card.validation.to_json()
    path = bundle.save_model(out, model_bytes, card)
    if not keep_checkpoint and ckpt.exists():
        ckpt.unlink()
    return TrainResult(path=path, card=bundle.read_card(path), validation=validation, failures=failures)


class CNNTrainer:
    """``genrekit train --model cnn``: :func:`train_cnn` behind the trainer contract."""

    kind = "cnn"
    config_type: ClassVar[type] = CNNConfig

    def train(self, source: Source, out: Path, config: CNNConfig, run: RunOptions) -> TrainResult:
        return train_cnn(source, out, config, run=run)


__all__ = ["CNNConfig", "CNNProgress", "CNNTrainer", "INITS", "STOP_ON", "feature_set_for", "fit", "train_cnn"]
