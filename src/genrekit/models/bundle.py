"""The model file (``.genre``): one zip archive of ONNX graphs and a JSON card.

No pickle anywhere: a model file is data, never code, so opening one from a
stranger cannot run anything. Layout (format_version 1)::

    card.json     the model card (UTF-8 JSON object, :class:`~genrekit.models.card.ModelCard`)
    model.onnx    the classifier: float32 input (n, n_features) -> "probabilities" (n, n_labels)
    *.onnx|*.json further members (an embedding network; an ensemble's members under ensemble/<i>/)

Integrity: ``card["members"]`` maps every other member to its sha256, and
``card["card_sha256"]`` is the sha256 of the card's canonical JSON
(``json.dumps(card_without_card_sha256, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8). This detects
corruption and edits made without re-sealing; it is not a signature.

Hostile files: before anything is decompressed, the zip's directory must
list exactly the card's members, each within :data:`MAX_MEMBER_BYTES` and
all together within :data:`MAX_TOTAL_BYTES`; the card is parsed with a depth
limit and every field checked (:meth:`ModelCard.from_json`); an ONNX graph
may use only the standard and onnxruntime's own operator domains and no
tensor stored as external data (which onnxruntime would read from the
working directory).
"""

from __future__ import annotations

import hashlib
import json
import threading
import warnings
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from genrekit.errors import ConfigError, FeatureMismatchError, ModelFileError
from genrekit.models.card import FORMAT, FORMAT_VERSION, ModelCard, OnnxSpec
from genrekit.runtime import onnx_session, run_batched

if TYPE_CHECKING:
    import onnx

SUFFIX = ".genre"
CARD_MEMBER = "card.json"
MODEL_MEMBER = "model.onnx"
INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
MEMBER_SUFFIXES = (".json", ".onnx")
EMBEDDED_PREFIX = "ensemble/"
"""Where a model file keeps whole model files of its own (an ensemble's members: ``ensemble/<i>/...``)."""
MAX_CARD_BYTES = 64 * 1024**2
MAX_MEMBER_BYTES = 256 * 1024**2
MAX_TOTAL_BYTES = 512 * 1024**2
"""Uncompressed size limits, checked on the zip directory before decompressing (zip bombs)."""
ALLOWED_DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "com.microsoft")
"""ONNX operator domains a model file may use: the standard ones and onnxruntime's built-in contrib ops."""
WIDE_INPUT_COLUMNS = 4096
WIDE_BATCH, NARROW_BATCH = 4, 8192
"""Rows per onnxruntime call: a spectrogram network (wide input) holds ~45 MB of activations per row (musicnn), and
batches above 4 rows were not faster (benchmarks/hostile_memory.py measures the peak)."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(card: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in card.items() if k != "card_sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _valid_member_name(name: str) -> bool:
    parts = name.split("/")
    return (name.endswith(MEMBER_SUFFIXES) and not name.startswith("/") and "\\" not in name
            and all(p not in ("", ".", "..") for p in parts))


def _onnx_io(model_bytes: bytes, where: str) -> dict[str, Any]:
    """Check a serialized ONNX graph for what a model file may not hold; its input/output names and widths.

    Read with :mod:`genrekit.models.onnx_wire`, not the ``onnx`` package (whose import alone costs more than
    the CLI's whole cold start): the checks must run before onnxruntime, which loads external data when its
    session is created.
    """
    from genrekit.models import onnx_wire

    try:
        proto = onnx_wire.read_model(model_bytes)
    except onnx_wire.WireFormatError as exc:
        raise ModelFileError(f"{where}: not a valid ONNX model ({type(exc).__name__}: {exc})") from None
    domains = sorted(set(proto.opset_domains) - set(ALLOWED_DOMAINS))
    if domains:
        raise ModelFileError(f"{where}: uses operator domain(s) {', '.join(map(repr, domains))}; "
                             f"a model file may use only {', '.join(repr(d) for d in ALLOWED_DOMAINS)}")
    if proto.n_functions:
        raise ModelFileError(f"{where}: holds ONNX local functions, which genrekit model files never use")
    for graph in proto.graphs:  # the main graph, every subgraph (If/Loop/Scan bodies), training_info graphs
        for tensor in graph.tensors:
            if tensor.external:
                raise ModelFileError(f"{where}: tensor {tensor.name!r} is stored as external data (a file outside "
                                     "the model); model files must hold all their weights")
        for node in graph.nodes:
            if node.domain not in ALLOWED_DOMAINS:
                raise ModelFileError(f"{where}: node {node.name!r} uses operator domain {node.domain!r}")
    return {
        "inputs": dict(proto.inputs),
        "outputs": dict(proto.outputs),
        "metadata": dict(proto.metadata),
    }


def _check_onnx_against_card(io_info: dict[str, Any], card: ModelCard, where: str) -> None:
    def fail(msg: str) -> None:
        raise ModelFileError(f"{where}: {msg}")

    spec = card.onnx or OnnxSpec()
    if spec.input not in io_info["inputs"]:
        fail(f"ONNX model has no input {spec.input!r} (inputs: {', '.join(io_info['inputs'])})")
    if spec.output not in io_info["outputs"]:
        fail(f"ONNX model has no output {spec.output!r} (outputs: {', '.join(io_info['outputs'])})")
    n_in = io_info["inputs"][spec.input]
    if n_in is not None and n_in != len(card.columns):
        fail(f"ONNX input takes {n_in} features but the card lists {len(card.columns)} columns")
    n_out = io_info["outputs"][spec.output]
    if n_out is not None and n_out != len(card.labels):
        fail(f"ONNX output has {n_out} columns but the card lists {len(card.labels)} labels")
    meta_labels = io_info["metadata"].get("genrekit.labels")
    if meta_labels is not None:
        try:
            recorded = json.loads(meta_labels)
        except ValueError:
            fail("the ONNX model's genrekit.labels metadata is not JSON")
        if recorded != list(card.labels):
            fail("card labels differ from the labels recorded in the ONNX model (order matters)")


# --------------------------------------------------------------------- export


def export_pipeline(pipeline: Any, n_features: int, *, input_name: str = INPUT_NAME,
                    target_opset: int | None = None) -> onnx.ModelProto:
    """Convert a fitted scikit-learn classifier pipeline to ONNX.

    Input: float32 ``(None, n_features)`` named ``input_name``. Outputs:
    ``label`` and ``probabilities`` (a plain float tensor ``(None,
    n_classes)``, no ZipMap). The class labels are recorded in the ONNX
    metadata (``genrekit.labels``) so :func:`save_model` can check the card.
    """
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    from genrekit.models.classic import register_onnx_converters

    if n_features < 1:
        raise ConfigError("n_features must be >= 1")
    classes = getattr(pipeline, "classes_", None)
    if classes is None:
        raise ValueError("export_pipeline needs a fitted classifier pipeline (no classes_)")
    n_in = getattr(pipeline, "n_features_in_", n_features)
    if n_in != n_features:
        raise ValueError(f"pipeline was fitted on {n_in} features, not {n_features}")
    register_onnx_converters()
    final = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    with warnings.catch_warnings():
        # skl2onnx reads SVC.probA_/probB_, deprecated in scikit-learn 1.9 (unused: we never set probability=True).
        warnings.filterwarnings("ignore", message=r".*prob[AB]_.*", category=FutureWarning)
        proto = convert_sklearn(
            pipeline,
            initial_types=[(input_name, FloatTensorType([None, n_features]))],
            options={id(final): {"zipmap": False}},
            target_opset=target_opset,
        )
    entry = proto.metadata_props.add()
    entry.key, entry.value = "genrekit.labels", json.dumps([str(c) for c in classes])
    return proto


def check_export(onnx_model: onnx.ModelProto | bytes, pipeline: Any, X: np.ndarray, *, atol: float = 1e-4) -> float:
    """Largest |ONNX - scikit-learn| probability on ``X``; raise ValueError above ``atol``.

    Run it once after export, on a few hundred training rows, so a converter
    bug never ships silently.
    """
    data = onnx_model if isinstance(onnx_model, bytes) else onnx_model.SerializeToString()
    session = onnx_session(data, where="exported pipeline")
    name = session.get_inputs()[0].name
    got = session.run([OUTPUT_NAME], {name: np.ascontiguousarray(X, dtype=np.float32)})[0]
    want = pipeline.predict_proba(np.asarray(X, dtype=np.float64))
    err = float(np.max(np.abs(got - want))) if len(X) else 0.0
    if err > atol:
        raise ValueError(f"ONNX probabilities differ from scikit-learn's by {err:.3g} (> {atol}); "
                         "this model does not convert faithfully")
    return err


# ------------------------------------------------------------------ save/load


def _as_card(card: ModelCard | Mapping[str, Any], where: str) -> ModelCard:
    if isinstance(card, ModelCard):
        return card
    try:
        data = json.loads(json.dumps(dict(card), allow_nan=False))  # a deep copy that proves it is plain JSON
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{where}: card must be plain JSON data without NaN/inf ({exc})") from None
    return ModelCard.from_json({k: v for k, v in data.items() if k not in ("card_sha256",)}, where=where, sealed=False)


def seal(card: ModelCard | Mapping[str, Any], model_bytes: bytes, extra_members: Mapping[str, bytes] | None = None,
         *, where: str = "model") -> tuple[bytes, dict[str, bytes]]:
    """The sealed ``card.json`` bytes and the other members of a model file, checked as a loader would.

    ``extra_members`` names end in ``.json`` or ``.onnx``. Raises
    :class:`~genrekit.errors.ConfigError` (the caller's mistake) on an
    incomplete or inconsistent card.
    """
    try:
        return _seal(card, model_bytes, extra_members, where)
    except ModelFileError as error:
        raise ConfigError(str(error)) from None


def _seal(card: ModelCard | Mapping[str, Any], model_bytes: bytes, extra_members: Mapping[str, bytes] | None,
          where: str) -> tuple[bytes, dict[str, bytes]]:
    from genrekit import __version__  # deferred: the root package is imported lazily by design

    typed = _as_card(card, where)
    members: dict[str, bytes] = {MODEL_MEMBER: model_bytes}
    for name, data in (extra_members or {}).items():
        if name in (CARD_MEMBER, MODEL_MEMBER) or not _valid_member_name(name):
            raise ModelFileError(f"{where}: bad extra member name {name!r}: use a relative name ending in .json or "
                                 f".onnx, not {CARD_MEMBER} or {MODEL_MEMBER}")
        if not isinstance(data, bytes):
            raise ModelFileError(f"{where}: extra member {name!r} must be bytes")
        members[name] = data
    io_info = _onnx_io(model_bytes, f"{where}: {MODEL_MEMBER}")
    spec = typed.onnx or OnnxSpec(member=MODEL_MEMBER, input=next(iter(io_info["inputs"]), INPUT_NAME),
                                  output=OUTPUT_NAME)
    body = typed.to_json() | {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "created_at": typed.created_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "genrekit_version": __version__, "onnx": spec.to_json(),
        "members": {name: _sha256(data) for name, data in sorted(members.items())},
    }
    body.pop("card_sha256", None)
    body["card_sha256"] = _sha256(_canonical(body))
    sealed = ModelCard.from_json(body, where=where)
    _check_onnx_against_card(io_info, sealed, where)
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False).encode(), members


def save_model(path: str | Path, onnx_model_or_bytes: onnx.ModelProto | bytes, card: ModelCard | Mapping[str, Any],
               extra_members: Mapping[str, bytes] | None = None) -> Path:
    """Write a ``.genre`` file: the card (sealed with hashes) and the ONNX model(s).

    ``card``: a :class:`ModelCard` (or its JSON object); ``format``,
    ``created_at`` (kept if given), ``genrekit_version``, ``onnx`` and the
    hashes are filled in. The file is written to a temporary name and
    renamed, so a crash never leaves half a model behind.
    """
    path = Path(path)
    model_bytes = (onnx_model_or_bytes if isinstance(onnx_model_or_bytes, bytes)
                   else onnx_model_or_bytes.SerializeToString())
    card_bytes, members = seal(card, model_bytes, extra_members, where=str(path))
    from genrekit.fileio import atomic_write  # temporary sibling, renamed over ``path``; mode per umask

    def write(f: Any) -> None:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(CARD_MEMBER, card_bytes)
            for name, data in members.items():
                zf.writestr(name, data)

    return atomic_write(path, write)


class GenreModel:
    """A verified model file: its typed card, its members, and a lazily created onnxruntime session.

    ``predict_proba`` is safe to call from several threads. A GenreModel
    pickles without its session (worker processes open their own).
    """

    def __init__(self, path: Path, card: ModelCard, card_bytes: bytes, members: dict[str, bytes], *,
                 intra_op_threads: int = 1) -> None:
        self.path = path
        self.card = card
        self._card_bytes = card_bytes
        self._members = members
        self.intra_op_threads = intra_op_threads
        self._session: Any = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_session", "_lock")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _session=None, _lock=threading.Lock())

    # card views
    @property
    def labels(self) -> list[str]:
        return list(self.card.labels)

    @property
    def columns(self) -> list[str]:
        return list(self.card.columns)

    @property
    def n_features(self) -> int:
        return len(self.card.columns)

    @property
    def member_names(self) -> list[str]:
        return sorted(self._members)

    def member_bytes(self, name: str) -> bytes:
        """Raw bytes of a member (e.g. an extra ONNX graph)."""
        try:
            return self._members[name]
        except KeyError:
            raise ModelFileError(f"{self.path}: no member {name!r} (members: {', '.join(self.member_names)})") from None

    def files(self) -> dict[str, bytes]:
        """Every file of this model as stored (its sealed card.json included): what embedding it elsewhere needs."""
        return {CARD_MEMBER: self._card_bytes, **self._members}

    def embedded_models(self) -> list[GenreModel]:
        """The whole model files stored inside this one (an ensemble's members, in order), each verified."""
        found: dict[int, dict[str, bytes]] = {}
        for name, data in self._members.items():
            if name.startswith(EMBEDDED_PREFIX):
                index, _, rest = name[len(EMBEDDED_PREFIX):].partition("/")
                if not index.isdigit():
                    raise ModelFileError(f"{self.path}: bad embedded member name {name!r}")
                found.setdefault(int(index), {})[rest] = data
        if sorted(found) != list(range(len(found))):
            raise ModelFileError(f"{self.path}: embedded models are not numbered 0..{len(found) - 1}")
        return [open_model(found[i], where=f"{self.path} (member {i})") for i in range(len(found))]

    def __repr__(self) -> str:
        return f"GenreModel({str(self.path)!r}, kind={self.card.kind!r}, labels={len(self.labels)}, features={self.n_features})"

    def _get_session(self) -> Any:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    spec = self.card.onnx or OnnxSpec()
                    self._session = onnx_session(self._members[spec.member], threads=self.intra_op_threads,
                                                 where=str(self.path))
        return self._session

    @property
    def batch_size(self) -> int:
        """Rows per onnxruntime call (bounded, so memory does not grow with the number of windows)."""
        return WIDE_BATCH if self.n_features > WIDE_INPUT_COLUMNS else NARROW_BATCH

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_labels)`` float64 (rows sum to 1) for features ``X`` ``(n, d)``.

        Columns follow :attr:`labels`. Raises :class:`FeatureMismatchError`
        if ``X`` is not 2-D with ``d == n_features``, or holds NaN/inf.
        """
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            fs = self.card.feature_set
            raise FeatureMismatchError(
                f"{self.path}: model expects features of shape (n, {self.n_features}) from feature set "
                f"{fs.name!r} v{fs.version}, got shape {X.shape}")
        if len(X) == 0:
            return np.zeros((0, len(self.labels)))
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        if not np.all(np.isfinite(X32)):
            raise FeatureMismatchError(f"{self.path}: features contain NaN or infinite values "
                                       "(or values beyond float32 range)")
        spec = self.card.onnx or OnnxSpec()
        out = run_batched(self._get_session(), {spec.input: X32}, [spec.output], self.batch_size)[0]
        p = np.asarray(out, dtype=np.float64)
        if p.ndim != 2 or p.shape != (len(X), len(self.labels)):
            raise ModelFileError(f"{self.path}: ONNX output has shape {p.shape}, "
                                 f"expected ({len(X)}, {len(self.labels)}) for the card's labels")
        if not np.all(np.isfinite(p)):
            raise ModelFileError(f"{self.path}: the model's graph produced NaN or infinite probabilities")
        p = np.clip(p, 0.0, None)
        sums = p.sum(axis=1, keepdims=True)
        return np.divide(p, sums, out=np.full_like(p, 1.0 / p.shape[1]), where=sums > 0)


def open_model(files: Mapping[str, bytes], *, where: str = "model", intra_op_threads: int = 1) -> GenreModel:
    """Verify the files of a model (``card.json`` and the members it lists) and open it.

    The one check of a model's contents, for a ``.genre`` file read by
    :func:`load_model` and for the models embedded inside one alike: the
    card's hash, every member's hash, the card's fields, and the ONNX graph
    against the card. Raises :class:`ModelFileError` naming ``where``.
    """
    files = dict(files)
    card_bytes = files.pop(CARD_MEMBER, None)
    if card_bytes is None:
        raise ModelFileError(f"{where}: not a genrekit model (no {CARD_MEMBER})")
    raw = _parse_card(card_bytes, where)
    hashes = raw.get("members")
    if not isinstance(hashes, dict):
        raise ModelFileError(f"{where}: card has no 'members' hash table")
    if set(hashes) != set(files):
        extra, lacking = sorted(set(files) - set(hashes)), sorted(set(hashes) - set(files))
        raise ModelFileError(f"{where}: members differ from the card's list (unlisted: {extra or 'none'}; "
                             f"missing: {lacking or 'none'})")
    for name, data in files.items():
        if _sha256(data) != hashes[name]:
            raise ModelFileError(f"{where}: member {name!r} was modified after the model was saved "
                                 "(sha256 mismatch): refusing to load")
    card = ModelCard.from_json(raw, where=where)
    spec = card.onnx or OnnxSpec()
    if spec.member not in files or not spec.member.endswith(".onnx"):
        raise ModelFileError(f"{where}: card names ONNX member {spec.member!r}, which the file does not hold")
    _check_onnx_against_card(_onnx_io(files[spec.member], f"{where}: {spec.member}"), card, where)
    return GenreModel(Path(where), card, card_bytes, files, intra_op_threads=intra_op_threads)


def _parse_card(card_bytes: bytes, where: str) -> dict[str, Any]:
    """The card's JSON object, its format and its own hash checked before any field is trusted."""
    try:
        raw = json.loads(card_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{where}: card.json is not valid UTF-8 JSON ({exc})") from None
    except RecursionError:
        raise ModelFileError(f"{where}: card.json nests too deeply to be a model card") from None
    if not isinstance(raw, dict):
        raise ModelFileError(f"{where}: card.json must hold a JSON object")
    if raw.get("format") != FORMAT:
        raise ModelFileError(f"{where}: not a genrekit model file (format {str(raw.get('format'))[:40]!r}, "
                             f"expected {FORMAT!r})")
    version = raw.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise ModelFileError(f"{where}: made by a newer genrekit (format_version {version}; this genrekit reads up "
                             f"to {FORMAT_VERSION}): upgrade genrekit to use it")
    recorded = raw.get("card_sha256")
    if not isinstance(recorded, str):
        raise ModelFileError(f"{where}: card has no card_sha256 (tampered with, or not written by genrekit)")
    try:
        actual = _sha256(_canonical(raw))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{where}: card cannot be re-serialised for its hash check ({exc})") from None
    if actual != recorded:
        raise ModelFileError(f"{where}: card.json was modified after the model was saved (sha256 mismatch): "
                             "refusing to load")
    return raw


def _read_zip(path: Path) -> dict[str, bytes]:
    """The members of a model file, read only after the zip directory matches the card and the size limits."""
    def fail(msg: str) -> ModelFileError:
        return ModelFileError(f"{path}: {msg}")

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                raise fail("corrupt or tampered model file (duplicate member names)")
            sizes = {i.filename: i.file_size for i in infos}
            if CARD_MEMBER not in sizes:
                raise fail(f"not a genrekit model file (no {CARD_MEMBER})")
            if sizes[CARD_MEMBER] > MAX_CARD_BYTES:
                raise fail(f"card.json is implausibly large ({sizes[CARD_MEMBER]} bytes; at most {MAX_CARD_BYTES})")
            for name, size in sizes.items():
                if name != CARD_MEMBER and not _valid_member_name(name):
                    raise fail(f"unexpected member {name[:80]!r} (a model file holds only .json and .onnx members)")
                if size > MAX_MEMBER_BYTES:
                    raise fail(f"member {name[:80]!r} is implausibly large ({size} bytes; at most {MAX_MEMBER_BYTES})")
            if sum(sizes.values()) > MAX_TOTAL_BYTES:
                raise fail(f"members add up to {sum(sizes.values())} bytes uncompressed; at most {MAX_TOTAL_BYTES}")
            card_bytes = zf.read(CARD_MEMBER)
            listed = _parse_card(card_bytes, str(path)).get("members")
            if not isinstance(listed, dict) or set(listed) != set(sizes) - {CARD_MEMBER}:
                unlisted = sorted(set(sizes) - {CARD_MEMBER} - set(listed if isinstance(listed, dict) else ()))
                raise fail(f"members differ from the card's list (unlisted: {unlisted[:5] or 'none'}); refusing to "
                           "decompress them")
            files = {CARD_MEMBER: card_bytes}
            for name in names:
                if name != CARD_MEMBER:
                    files[name] = zf.read(name)
            return files
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        raise fail(f"not a genrekit model file, or corrupt/truncated ({type(exc).__name__}: {exc})") from None


def load_model(path: str | Path, *, intra_op_threads: int = 1) -> GenreModel:
    """Open and verify a ``.genre`` file; the ONNX Runtime session is created on first use.

    Raises :class:`~genrekit.errors.ModelFileError` (message starts with the
    path) if the file is missing, not a zip, truncated, tampered with (a hash
    mismatch), from a newer genrekit, or internally inconsistent.
    """
    path = Path(path)
    if intra_op_threads < 0:
        raise ConfigError("intra_op_threads must be >= 0 (0 = ONNX Runtime's default)")
    if not path.exists():
        raise ModelFileError(f"{path}: model file not found")
    if not path.is_file():
        raise ModelFileError(f"{path}: not a file")
    return open_model(_read_zip(path), where=str(path), intra_op_threads=intra_op_threads)


def read_card(path: str | Path) -> ModelCard:
    """The verified card of a model file (same checks as :func:`load_model`)."""
    return load_model(path).card




def draft_model(card: ModelCard | Mapping[str, Any], model_bytes: bytes,
                extra_members: Mapping[str, bytes] | None = None, *, where: str = "unsaved model") -> GenreModel:
    """An in-memory model, sealed and opened exactly as its file would be: trainers score held-out tracks with it."""
    card_bytes, members = seal(card, model_bytes, extra_members, where=where)
    return open_model({CARD_MEMBER: card_bytes, **members}, where=where)


__all__ = ["CARD_MEMBER", "FORMAT", "FORMAT_VERSION", "FeatureMismatchError", "GenreModel", "SUFFIX", "check_export", "draft_model",
           "export_pipeline", "load_model", "open_model", "read_card", "save_model", "seal"]
