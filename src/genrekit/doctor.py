"""Check an installation before trusting it: decoders, onnxruntime, bundled model, reference features, cache, extras.

:func:`run_checks` returns one :class:`Check` per thing checked, each with a
status: ``ok``; ``info`` (a fact, nothing wrong: the platform, an extra that
is not installed); ``warn`` (works, but something is missing or not checked);
``fail`` (broken: genrekit would give wrong results or errors). It never
raises: a check that crashes becomes a ``fail`` naming the exception.

The checks, in order:

- ``python``: Python, the platform and genrekit's version.
- ``libsndfile`` and ``decode <ext>``: each format libsndfile can write here
  (wav, flac, ogg/vorbis, opus, mp3, aiff, au, caf, w64) gets a half-second
  440 Hz tone written to a temporary folder, decoded with
  :func:`genrekit.audio.load_audio`, and its dominant frequency compared with
  440 Hz; ``decode m4a`` does the same with an AAC tone in an .m4a written
  and decoded through PyAV (FFmpeg), which reads what libsndfile cannot.
- ``onnxruntime``: its version and providers; a one-node graph (``x + x``) run through
  :func:`genrekit.runtime.onnx_session`.
- ``bundled model``: :func:`genrekit.predict.load_model` (which verifies every
  hash inside the ``.genre`` file), then the reference signal classified.
- ``musicnn <model>``: converted musicnn weights, present and matching their
  install manifest; absent is a warning unless the bundled model needs them.
- ``reference features``: the ``seed`` features of :func:`reference_signal`
  against the values stored in ``genrekit/data/reference/seed_features.json``
  (written by ``scripts/make_reference_features.py``).
- ``cache folder``: the feature cache folder can be created and written.
- ``extra <package>``: which optional packages are importable (looked up,
  never imported).

The whole run takes a few seconds and never imports librosa (whose numba
start-up alone costs many seconds).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from genrekit import __version__

Status = Literal["ok", "info", "warn", "fail"]
STATUSES: tuple[str, ...] = ("ok", "info", "warn", "fail")

REFERENCE_FEATURES = Path(__file__).parent / "data" / "reference" / "seed_features.json"
"""The stored ``seed`` features of :func:`reference_signal` (``scripts/make_reference_features.py`` writes it)."""

REFERENCE_SET = "seed"
REFERENCE_SR = 22050
REFERENCE_SECONDS = 5.0
REFERENCE_WINDOWS = 2
"""The reference signal is cut into this many equal windows, one feature row each."""
RTOL, ATOL = 1e-4, 1e-6

TONE_HZ = 440.0
TONE_SECONDS = 0.5
DECODE_SR = 22050
TONE_TOLERANCE_HZ = 5.0

# (extension, libsndfile format, subtype, sample rate written): what the decoder check writes and reads back.
DECODER_FORMATS: tuple[tuple[str, str, str, int], ...] = (
    ("wav", "WAV", "PCM_16", 44100),
    ("flac", "FLAC", "PCM_16", 44100),
    ("ogg", "OGG", "VORBIS", 44100),
    ("opus", "OGG", "OPUS", 48000),  # Opus encodes 8, 12, 16, 24 or 48 kHz only
    ("mp3", "MP3", "MPEG_LAYER_III", 44100),
    ("aiff", "AIFF", "PCM_16", 44100),
    ("au", "AU", "PCM_16", 44100),
    ("caf", "CAF", "PCM_16", 44100),
    ("w64", "W64", "PCM_16", 44100),
)

# (import name, what it is for, the genrekit extra that installs it, else the pip package)
EXTRAS: tuple[tuple[str, str, str, str], ...] = (
    ("torch", "training CNNs", "train", "torch"),
    ("dask", "scale-out feature extraction", "dask", "dask"),
    ("distributed", "scale-out on a cluster", "dask", "distributed"),
    ("beets", "the beets plugin", "beets", "beets"),
    ("fastapi", "genrekit serve", "serve", "fastapi"),
    ("uvicorn", "genrekit serve", "serve", "uvicorn"),
    ("av", "m4a/AAC decoding", "m4a", "av"),
    ("mutagen", "reading and writing tags", "tags", "mutagen"),
)


@dataclass(frozen=True)
class Check:
    """The outcome of one check: its ``status``, a one-line ``detail`` and machine-readable ``data``."""

    name: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "data": self.data}


def run_checks(*, cache_dir: str | os.PathLike[str] | None = None) -> list[Check]:
    """Every check, in order; never raises (a check that crashes is a ``fail`` row naming the exception)."""
    checks: list[Check] = []
    checks += _guarded("python", check_python)
    checks += _guarded("libsndfile", check_libsndfile)
    checks += _guarded("decoders", check_decoders)
    checks += _guarded("decode m4a", check_m4a)
    checks += _guarded("onnxruntime", check_onnxruntime)
    model = _guarded("bundled model", check_bundled_model)
    checks += model
    needed = "musicnn" in model[0].data.get("feature_sets", [])
    checks += _guarded("musicnn", check_musicnn, required=needed)
    checks += _guarded("reference features", check_reference_features)
    checks += _guarded("cache folder", check_cache_dir, cache_dir)
    checks += _guarded("extras", check_extras)
    return checks


def failed(checks: list[Check]) -> list[Check]:
    """The checks whose status is ``fail``."""
    return [c for c in checks if c.status == "fail"]


def _guarded(name: str, check: Callable[..., Check | list[Check]], *args: Any, **kwargs: Any) -> list[Check]:
    """``check(*args, **kwargs)`` as a list of checks; any exception becomes one ``fail`` row called ``name``."""
    try:
        out = check(*args, **kwargs)
    except Exception as error:  # doctor reports what went wrong; it must not crash on it
        return [Check(name, "fail", f"{type(error).__name__}: {error}", {"exception": type(error).__name__})]
    return [out] if isinstance(out, Check) else list(out)


# ----------------------------------------------------------------------------- environment


def check_python() -> Check:
    """Python, the platform and genrekit's version (always ``info``)."""
    data = {
        "genrekit": __version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "executable": sys.executable,
    }
    return Check("python", "info", f"genrekit {__version__}, {data['implementation']} {data['python']} on "
                                   f"{data['platform']}", data)


# ----------------------------------------------------------------------------- decoders


def check_libsndfile() -> Check:
    """The libsndfile (and soundfile) version genrekit decodes with."""
    import soundfile as sf

    version = sf.__libsndfile_version__
    return Check("libsndfile", "ok", f"libsndfile {version} (soundfile {sf.__version__})",
                 {"libsndfile": version, "soundfile": sf.__version__})


def tone(sr: int, seconds: float = TONE_SECONDS, hz: float = TONE_HZ) -> np.ndarray:
    """A ``hz`` sine at amplitude 0.5, ``seconds`` long, float32."""
    t = np.arange(int(round(sr * seconds))) / sr
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def dominant_frequency(y: np.ndarray, sr: int) -> float:
    """The frequency (Hz) of the strongest bin of the Hann-windowed spectrum of ``y``."""
    y = np.asarray(y, dtype=np.float64)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spectrum) * sr / len(y))


def check_decoders(formats: tuple[tuple[str, str, str, int], ...] = DECODER_FORMATS) -> list[Check]:
    """One check per format: write a 440 Hz tone, decode it with genrekit, find 440 Hz again."""
    import soundfile as sf

    available = sf.available_formats()
    with tempfile.TemporaryDirectory(prefix="genrekit-doctor-") as folder:
        return [_check_decoder(Path(folder), ext, fmt, subtype, sr, available) for ext, fmt, subtype, sr in formats]


def _check_decoder(folder: Path, ext: str, fmt: str, subtype: str, sr: int, available: dict[str, str]) -> Check:
    import soundfile as sf

    from genrekit.audio import AUDIO_EXTENSIONS, load_audio
    from genrekit.errors import AudioError

    name = f"decode {ext}"
    data: dict[str, Any] = {"extension": f".{ext}", "format": fmt, "subtype": subtype}
    if fmt not in available or subtype not in sf.available_subtypes(fmt):
        return Check(name, "warn", f"libsndfile {sf.__libsndfile_version__} here has no {fmt}/{subtype}; "
                                   f".{ext} files cannot be read", data)
    if f".{ext}" not in AUDIO_EXTENSIONS:
        return Check(name, "info", f".{ext} is not among the endings genrekit searches folders for", data)
    path = folder / f"tone.{ext}"
    try:
        sf.write(str(path), tone(sr), sr, format=fmt, subtype=subtype)
    except Exception as error:  # libsndfile's own errors: writing is not what genrekit does, so only a warning
        return Check(name, "warn", f"could not write a test file ({type(error).__name__}: {error}); "
                                   "decoding not checked", data)
    try:
        y = load_audio(path, sr=DECODE_SR)
    except AudioError as error:
        return Check(name, "fail", f"{fmt}/{subtype} does not decode: {error}", data)
    return _tone_check(name, y, data, what=f"{fmt}/{subtype}", tone_name="tone")


def _tone_check(name: str, y: Any, data: dict[str, Any], *, what: str, tone_name: str) -> Check:
    """The verdict on a decoded test tone: ``ok`` when it is still :data:`TONE_HZ` and long enough."""
    peak = dominant_frequency(y, DECODE_SR)
    data.update(peak_hz=round(peak, 1), seconds=round(len(y) / DECODE_SR, 3))
    if abs(peak - TONE_HZ) > TONE_TOLERANCE_HZ or len(y) < DECODE_SR * TONE_SECONDS / 2:
        return Check(name, "fail", f"a {TONE_HZ:g} Hz {tone_name} decoded as {peak:.1f} Hz over {data['seconds']} s",
                     data)
    return Check(name, "ok", f"{what}: {TONE_HZ:g} Hz tone decoded as {peak:.1f} Hz", data)


def check_m4a() -> Check:
    """PyAV imports and decodes AAC: a 440 Hz tone encoded as AAC in an .m4a, decoded by genrekit, 440 Hz again."""
    from genrekit.audio import load_audio
    from genrekit.errors import AudioError

    name = "decode m4a"
    data: dict[str, Any] = {"extension": ".m4a", "format": "MP4", "subtype": "AAC"}
    try:
        import av
    except ImportError as error:
        return Check(name, "fail", f"PyAV does not import ({error}): m4a, AAC, WMA, webm and mkv cannot be read", data)
    data["pyav"] = av.__version__
    with tempfile.TemporaryDirectory(prefix="genrekit-doctor-") as folder:
        path = Path(folder) / "tone.m4a"
        _write_aac(path, tone(44100), 44100)
        try:
            y = load_audio(path, sr=DECODE_SR)
        except AudioError as error:
            return Check(name, "fail", f"AAC does not decode through PyAV {av.__version__}: {error}", data)
    return _tone_check(name, y, data, what=f"MP4/AAC through PyAV {av.__version__}", tone_name="AAC tone")


def _write_aac(path: Path, y: np.ndarray, sr: int) -> None:
    """Encode mono float32 ``y`` as AAC in an MP4 container with PyAV's own encoder."""
    import av

    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=sr, layout="mono")
        step = stream.codec_context.frame_size or 1024
        for i in range(0, len(y), step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(y[None, i:i + step]), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = sr, i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


# ----------------------------------------------------------------------------- onnxruntime


def _tiny_graph() -> bytes:
    """A serialized ONNX graph ``y = x + x`` (float32, shape (n, 2))."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])
    graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "doctor", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="genrekit doctor")
    model.ir_version = 8
    return model.SerializeToString()


def check_onnxruntime() -> Check:
    """onnxruntime's version and providers, and a tiny graph run through genrekit's one session factory."""
    import onnxruntime as ort

    from genrekit.runtime import onnx_session

    providers = list(ort.get_available_providers())
    data = {"version": ort.__version__, "providers": providers}
    if "CPUExecutionProvider" not in providers:
        return Check("onnxruntime", "fail", f"onnxruntime {ort.__version__} has no CPUExecutionProvider "
                                            f"(providers: {', '.join(providers) or 'none'})", data)
    x = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    (y,) = onnx_session(_tiny_graph(), where="doctor's test graph").run(["y"], {"x": x})
    if not np.array_equal(y, x + x):
        return Check("onnxruntime", "fail", f"onnxruntime {ort.__version__} computed x + x wrongly", data)
    return Check("onnxruntime", "ok", f"onnxruntime {ort.__version__}; providers: {', '.join(providers)}", data)


# ----------------------------------------------------------------------------- bundled model and musicnn


def _feature_set_names(bundle: Any) -> list[str]:
    """The feature sets a model file and every model embedded in it read."""
    names = [bundle.card.feature_set.name]
    for member in bundle.embedded_models():
        names += _feature_set_names(member)
    return names


def check_bundled_model(path: str | os.PathLike[str] | None = None) -> Check:
    """Load the bundled model (verifying its hashes) and classify the reference signal with it."""
    from genrekit.errors import GenrekitError
    from genrekit.evaluation import aggregate_windows
    from genrekit.predict import BUNDLED_MODEL, load_model

    where = Path(path) if path is not None else BUNDLED_MODEL
    try:
        classifier = load_model(path)
        sha256 = hashlib.sha256(where.read_bytes()).hexdigest()
        card = classifier.card
        data: dict[str, Any] = {
            "path": str(where),
            "sha256": sha256,
            "kind": card.model.kind,
            "labels": len(classifier.labels),
            "feature_set": card.feature_set.name,
            "feature_sets": sorted(set(_feature_set_names(classifier.bundle))),
            "sample_rate": classifier.sample_rate,
        }
        y, _ = reference_signal(classifier.sample_rate)
        _, probs = classifier.window_probabilities(y, "<reference signal>")
        _, track = aggregate_windows(probs, np.zeros(len(probs), dtype=int), method=classifier.aggregation)
    except GenrekitError as error:  # ModelFileError (missing, damaged, tampered with) and any other typed error
        return Check("bundled model", "fail", str(error), {"path": str(where)})
    track = np.asarray(track[0], dtype=np.float64)
    best = int(np.argmax(track))
    genre, confidence = classifier.labels[best], round(float(track[best]), 4)
    data.update(windows=len(probs), reference_genre=genre, reference_confidence=confidence)
    if not np.isfinite(probs).all() or np.abs(probs.sum(axis=1) - 1.0).max(initial=0.0) > 1e-3:
        return Check("bundled model", "fail", "the reference signal's window probabilities are not finite or do "
                                              "not sum to 1", data)
    return Check("bundled model", "ok", f"{card.model.kind}, {data['labels']} labels, {data['feature_set']} features, "
                                        f"sha256 {sha256[:12]}; reference signal -> {genre} {confidence:.2f}", data)


def check_musicnn(*, required: bool = False, data_dir: str | os.PathLike[str] | None = None) -> list[Check]:
    """Each musicnn model's converted weights: absent (a warning, a failure when ``required``), or verified.

    Verified means every array present, finite and in shape, and the file's
    SHA-256 equal to the one its install manifest records (when there is one).
    """
    from genrekit.errors import ModelFileError
    from genrekit.musicnn.installer import read_manifest
    from genrekit.musicnn.paths import MODELS, installed_models
    from genrekit.musicnn.weights import load_weights

    found = installed_models(data_dir)
    checks = []
    for model in MODELS:
        name = f"musicnn {model}"
        path = found.get(model)
        if path is None:
            why = "the bundled model reads musicnn features" if required else "needed only by the musicnn feature set"
            checks.append(Check(name, "fail" if required else "warn",
                                f"not installed ({why}; run `genrekit models install musicnn`)",
                                {"installed": False, "required": required}))
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        data = {"installed": True, "required": required, "path": str(path), "sha256": digest}
        entry = ((read_manifest(path.parent) or {}).get("models") or {}).get(model) or {}
        expected = entry.get("sha256")
        if expected and expected != digest:
            checks.append(Check(name, "fail", f"{path}: SHA-256 {digest[:12]} differs from the install manifest's "
                                              f"{expected[:12]}; run `genrekit models install musicnn --force`", data))
            continue
        try:
            load_weights(path)
        except ModelFileError as error:
            checks.append(Check(name, "fail", str(error), data))
            continue
        note = "matches its manifest" if expected else "no manifest to compare its hash with"
        checks.append(Check(name, "ok", f"{path} (sha256 {digest[:12]}, {note})", data))
    return checks


# ----------------------------------------------------------------------------- reference features


def reference_signal(sr: int = REFERENCE_SR, seconds: float = REFERENCE_SECONDS) -> tuple[np.ndarray, int]:
    """A deterministic test signal ``(y float32, sr)``: two three-note chords with a 3 Hz tremolo, and faint noise.

    The first half is A major (220, 277.18, 329.63 Hz), the second
    D minor (293.66, 349.23, 440 Hz); the noise is ``default_rng(0)`` white
    noise at 0.01. The same at every call on every machine.
    """
    n = int(round(sr * seconds))
    t = np.arange(n) / sr
    first_half = t < seconds / 2
    chords = ((220.0, 277.18, 329.63), (293.66, 349.23, 440.0))
    y = np.zeros(n)
    for k, (a, b) in enumerate(zip(*chords)):
        phase = 2 * np.pi * np.cumsum(np.where(first_half, a, b)) / sr
        y += 0.25 / (k + 1) * np.sin(phase)
    y *= 0.6 + 0.4 * np.sin(2 * np.pi * 3.0 * t) ** 2
    y += 0.01 * np.random.default_rng(0).standard_normal(n)
    return y.astype(np.float32), sr


def reference_features() -> tuple[list[str], np.ndarray]:
    """``(column names, values (REFERENCE_WINDOWS, n_columns))``: the ``seed`` features of :func:`reference_signal`."""
    from genrekit.features import get_feature_set

    feature_set = get_feature_set(REFERENCE_SET)
    y, sr = reference_signal(feature_set.sample_rate)
    windows = np.array_split(y, REFERENCE_WINDOWS)
    return feature_set.column_names, feature_set.extract_many(windows, sr)


def reference_record() -> dict[str, Any]:
    """What ``seed_features.json`` holds: the feature set, the signal, the columns and the values."""
    from genrekit.features import get_feature_set

    columns, values = reference_features()
    return {
        "genrekit_version": __version__,
        "feature_set": get_feature_set(REFERENCE_SET).config(),
        "signal": {"function": "genrekit.doctor.reference_signal", "sample_rate": REFERENCE_SR,
                   "seconds": REFERENCE_SECONDS, "windows": REFERENCE_WINDOWS},
        "columns": columns,
        "values": values.tolist(),
    }


def load_reference(path: str | os.PathLike[str] = REFERENCE_FEATURES) -> dict[str, Any]:
    """The stored reference record (see :func:`reference_record`)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def check_reference_features(path: str | os.PathLike[str] = REFERENCE_FEATURES) -> Check:
    """The ``seed`` features of the reference signal equal the stored ones (rtol 1e-4, atol 1e-6)."""
    name = "reference features"
    try:
        stored = load_reference(path)
        columns = list(stored["columns"])
        expected = np.asarray(stored["values"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return Check(name, "fail", f"cannot read the stored reference features {path}: {error}", {"path": str(path)})
    data: dict[str, Any] = {"path": str(path), "stored_by": stored.get("genrekit_version"), "columns": len(columns)}
    got_columns, got = reference_features()
    if got_columns != columns or got.shape != expected.shape:
        return Check(name, "fail", f"the {REFERENCE_SET} set now has {len(got_columns)} columns x {len(got)} rows; "
                                   f"{path} holds {len(columns)} x {len(expected)}", data)
    excess = np.abs(got - expected) - (ATOL + RTOL * np.abs(expected))  # > 0 where np.isclose fails
    excess = np.where(np.isfinite(got), excess, np.inf)
    row, col = np.unravel_index(int(np.argmax(excess)), excess.shape)
    relative = np.abs(got - expected) / np.maximum(np.abs(expected), ATOL)
    data.update(worst_column=columns[col], max_relative_difference=float(np.nanmax(relative)))
    if excess[row, col] > 0:
        bad = int(np.count_nonzero(np.any(excess > 0, axis=0)))
        others = f" (and {bad - 1} more columns)" if bad > 1 else ""
        return Check(name, "fail", f"{columns[col]} of window {row} is {got[row, col]:.6g}, stored "
                                   f"{expected[row, col]:.6g}{others}: the {REFERENCE_SET} features differ from "
                                   f"those genrekit {stored.get('genrekit_version')} computed", data)
    return Check(name, "ok", f"{len(columns)} {REFERENCE_SET} columns x {len(got)} windows match the stored values "
                             f"(largest relative difference {data['max_relative_difference']:.1e})", data)


# ----------------------------------------------------------------------------- cache and extras


def check_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Check:
    """The feature cache folder exists or can be created, and a file can be written and removed in it."""
    from genrekit.store import default_cache_dir

    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    data: dict[str, Any] = {"path": str(folder), "existed": folder.is_dir()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".genrekit-doctor-", dir=folder)
        try:
            os.write(fd, b"genrekit doctor\n")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as error:
        reason = error.strerror or str(error)
        return Check("cache folder", "fail", f"{folder} is not writable: {type(error).__name__}: {reason}",
                     {**data, "error": str(error)})
    return Check("cache folder", "ok", f"{folder} is writable", data)


def check_extras() -> list[Check]:
    """Which optional packages are importable (``importlib.util.find_spec``: none is imported)."""
    try:
        from importlib.metadata import PackageNotFoundError, metadata

        provided = set(metadata("genrekit").get_all("Provides-Extra") or [])
    except (ImportError, PackageNotFoundError):  # running from a source tree that is not installed
        provided = set()
    checks = []
    for module, purpose, extra, package in EXTRAS:
        try:
            present = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a broken package, or a module with no spec
            present = False
        data = {"module": module, "installed": present, "for": purpose}
        if present:
            checks.append(Check(f"extra {module}", "ok", f"installed ({purpose})", data))
        else:
            how = f"pip install 'genrekit[{extra}]'" if extra in provided else f"pip install {package}"
            checks.append(Check(f"extra {module}", "info", f"not installed; only for {purpose} ({how})", data))
    return checks


__all__ = [
    "Check",
    "REFERENCE_FEATURES",
    "check_bundled_model",
    "check_cache_dir",
    "check_decoders",
    "check_extras",
    "check_libsndfile",
    "check_m4a",
    "check_musicnn",
    "check_onnxruntime",
    "check_python",
    "check_reference_features",
    "failed",
    "load_reference",
    "reference_features",
    "reference_record",
    "reference_signal",
    "run_checks",
]
