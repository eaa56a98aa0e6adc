"""The model file (``.genre``): one zip archive of ONNX graphs and a JSON card.

No pickle anywhere: a model file is data, never code, so opening one from a
stranger cannot run anything. Layout (format_version 1)::

    card.json     the model card (UTF-8 JSON object)
    model.onnx    the classifier: float32 input (n, n_features) -> "probabilities" (n, n_labels)
    *.onnx|*.json further members (an embedding network, ensemble members, ...)

The card carries everything prediction needs (labels in output-column
order, feature-set config and input column names, windowing, aggregation)
plus provenance (model kind and parameters, training counts and source,
validation metrics with the split named, created_at, genrekit version).

Integrity: ``card["members"]`` maps every other member to its sha256, and
``card["card_sha256"]`` is the sha256 of the card's canonical JSON
(``json.dumps(card_without_card_sha256, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8). This detects
corruption and edits made without re-sealing; it is not a signature.
"""

from __future__ import annotations

import hashlib
import json
import threading
import warnings
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from genrekit.errors import FeatureMismatchError, ModelFileError  # noqa: F401  (FeatureMismatchError: raised here)

if TYPE_CHECKING:
    import onnx

FORMAT = "genrekit-model"
FORMAT_VERSION = 1
SUFFIX = ".genre"
CARD_MEMBER = "card.json"
MODEL_MEMBER = "model.onnx"
INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
MEMBER_SUFFIXES = (".json", ".onnx")
MAX_MEMBER_BYTES = 2 * 1024**3  # protobuf's own limit; also bounds zip bombs

# Keys the caller provides; save_model adds the rest.
REQUIRED_CARD_KEYS = ("labels", "feature_set", "columns", "windowing", "aggregation", "model", "training",
                      "validation")
_SEALED_KEYS = ("format", "format_version", "created_at", "genrekit_version", "onnx", "members", "card_sha256")
_AGGREGATIONS = ("mean", "logmean", "vote")



# ------------------------------------------------------------------ helpers


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(card: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in card.items() if k != "card_sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _valid_member_name(name: str) -> bool:
    parts = name.split("/")
    return (name.endswith(MEMBER_SUFFIXES) and not name.startswith("/") and "\\" not in name
            and all(p not in ("", ".", "..") for p in parts))


def _onnx_io(model_bytes: bytes) -> dict[str, Any]:
    """Input name/width and output names/widths of a serialized ONNX model (no session needed)."""
    import onnx

    proto = onnx.load_model_from_string(model_bytes)

    def width(value_info) -> int | None:
        dims = value_info.type.tensor_type.shape.dim
        return int(dims[1].dim_value) if len(dims) == 2 and dims[1].HasField("dim_value") else None

    inputs = list(proto.graph.input)
    return {
        "inputs": {i.name: width(i) for i in inputs},
        "outputs": {o.name: width(o) for o in proto.graph.output},
        "metadata": {p.key: p.value for p in proto.metadata_props},
    }


def _check_card_fields(card: Mapping[str, Any], fail) -> None:
    """Structural checks shared by save (``fail`` raises ValueError) and load (ModelFileError)."""
    missing = [k for k in REQUIRED_CARD_KEYS if k not in card]
    if missing:
        fail(f"card is missing required key(s): {', '.join(missing)}")
    labels = card["labels"]
    if (not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels)
            or len(set(labels)) != len(labels)):
        fail("card 'labels' must be a non-empty list of unique, non-empty strings")
    fs = card["feature_set"]
    if not isinstance(fs, dict) or not {"name", "version"} <= set(fs):
        fail("card 'feature_set' must be a dict with at least 'name' and 'version' "
             "(plus 'sample_rate' and 'options')")
    cols = card["columns"]
    if not isinstance(cols, list) or not cols or not all(isinstance(c, str) for c in cols):
        fail("card 'columns' must be a non-empty list of column names")
    win = card["windowing"]
    if not isinstance(win, dict) or not {"window", "hop"} <= set(win):
        fail("card 'windowing' must be a dict with 'window' and 'hop' (seconds; window None = whole file)")
    if card["aggregation"] not in _AGGREGATIONS:
        fail(f"card 'aggregation' must be one of {', '.join(_AGGREGATIONS)}, got {card['aggregation']!r}")
    if not isinstance(card["model"], dict) or "kind" not in card["model"]:
        fail("card 'model' must be a dict with at least 'kind'")
    if not isinstance(card["training"], dict):
        fail("card 'training' must be a dict (counts per label, source)")
    val = card["validation"]
    if not isinstance(val, dict) or not val.get("split"):
        fail("card 'validation' must be a dict naming its 'split' (honest evaluation says where numbers come from)")


def _check_onnx_against_card(io_info: dict[str, Any], card: Mapping[str, Any], fail) -> None:
    onnx_info = card["onnx"]
    if onnx_info["input"] not in io_info["inputs"]:
        fail(f"ONNX model has no input {onnx_info['input']!r} (inputs: {', '.join(io_info['inputs'])})")
    if onnx_info["output"] not in io_info["outputs"]:
        fail(f"ONNX model has no output {onnx_info['output']!r} (outputs: {', '.join(io_info['outputs'])})")
    n_in = io_info["inputs"][onnx_info["input"]]
    if n_in is not None and n_in != len(card["columns"]):
        fail(f"ONNX input takes {n_in} features but the card lists {len(card['columns'])} columns")
    n_out = io_info["outputs"][onnx_info["output"]]
    if n_out is not None and n_out != len(card["labels"]):
        fail(f"ONNX output has {n_out} columns but the card lists {len(card['labels'])} labels")
    meta_labels = io_info["metadata"].get("genrekit.labels")
    if meta_labels is not None and json.loads(meta_labels) != list(card["labels"]):
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
        raise ValueError("n_features must be >= 1")
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
    import onnxruntime as ort

    data = onnx_model if isinstance(onnx_model, bytes) else onnx_model.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    got = session.run([OUTPUT_NAME], {name: np.ascontiguousarray(X, dtype=np.float32)})[0]
    want = pipeline.predict_proba(np.asarray(X, dtype=np.float64))
    err = float(np.max(np.abs(got - want))) if len(X) else 0.0
    if err > atol:
        raise ValueError(f"ONNX probabilities differ from scikit-learn's by {err:.3g} (> {atol}); "
                         "this model does not convert faithfully")
    return err


# ------------------------------------------------------------------ save/load


def save_model(path: str | Path, onnx_model_or_bytes: onnx.ModelProto | bytes, card: Mapping[str, Any],
               extra_members: Mapping[str, bytes] | None = None) -> Path:
    """Write a ``.genre`` file: the card (sealed with hashes) and the ONNX model(s).

    ``card`` needs :data:`REQUIRED_CARD_KEYS`; ``format``, ``format_version``,
    ``created_at`` (kept if given), ``genrekit_version``, ``onnx`` (member,
    input and output names) and the hashes are filled in. ``extra_members``
    names end in ``.json`` or ``.onnx``. The file is written to a temporary
    name and renamed, so a crash never leaves half a model behind. Raises
    ValueError on an incomplete or inconsistent card.
    """
    from genrekit import __version__

    path = Path(path)

    def fail(msg: str):
        raise ValueError(f"{path}: {msg}")

    model_bytes = (onnx_model_or_bytes if isinstance(onnx_model_or_bytes, bytes)
                   else onnx_model_or_bytes.SerializeToString())
    try:
        card = json.loads(json.dumps(dict(card), allow_nan=False))  # deep copy; proves it is plain JSON
    except (TypeError, ValueError) as exc:
        fail(f"card must be plain JSON data without NaN/inf ({exc})")
    _check_card_fields(card, fail)
    members: dict[str, bytes] = {MODEL_MEMBER: model_bytes}
    for name, data in (extra_members or {}).items():
        if name in (CARD_MEMBER, MODEL_MEMBER) or not _valid_member_name(name):
            fail(f"bad extra member name {name!r}: use a relative name ending in .json or .onnx, "
                 f"not {CARD_MEMBER} or {MODEL_MEMBER}")
        if not isinstance(data, bytes):
            fail(f"extra member {name!r} must be bytes")
        members[name] = data

    io_info = _onnx_io(model_bytes)
    onnx_info = dict(card.get("onnx") or {})
    onnx_info.setdefault("member", MODEL_MEMBER)
    onnx_info.setdefault("input", next(iter(io_info["inputs"]), INPUT_NAME))
    onnx_info.setdefault("output", OUTPUT_NAME)
    card.update(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        created_at=card.get("created_at") or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        genrekit_version=__version__,
        onnx=onnx_info,
        members={name: _sha256(data) for name, data in sorted(members.items())},
    )
    card.pop("card_sha256", None)
    _check_onnx_against_card(io_info, card, fail)
    card["card_sha256"] = _sha256(_canonical(card))

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(CARD_MEMBER, json.dumps(card, indent=2, sort_keys=True, ensure_ascii=False))
        for name, data in members.items():
            zf.writestr(name, data)
    tmp.replace(path)
    return path


class GenreModel:
    """A loaded model file: its card and a lazily created ONNX Runtime session.

    ``predict_proba`` is safe to call from several threads.
    """

    def __init__(self, path: Path, card: dict[str, Any], members: dict[str, bytes], *,
                 intra_op_threads: int = 1) -> None:
        self.path = path
        self.card = card
        self._members = members
        self.intra_op_threads = intra_op_threads
        self._session = None
        self._lock = threading.Lock()

    # card views
    @property
    def labels(self) -> list[str]:
        return list(self.card["labels"])

    @property
    def feature_config(self) -> dict[str, Any]:
        return dict(self.card["feature_set"])

    @property
    def columns(self) -> list[str]:
        return list(self.card["columns"])

    @property
    def n_features(self) -> int:
        return len(self.card["columns"])

    @property
    def windowing(self) -> dict[str, Any]:
        return dict(self.card["windowing"])

    @property
    def aggregation(self) -> str:
        return self.card["aggregation"]

    @property
    def member_names(self) -> list[str]:
        return sorted(self._members)

    def member_bytes(self, name: str) -> bytes:
        """Raw bytes of a member (e.g. an extra ONNX graph)."""
        try:
            return self._members[name]
        except KeyError:
            raise KeyError(f"{self.path}: no member {name!r} (members: {', '.join(self.member_names)})") from None

    def __repr__(self) -> str:
        return (f"GenreModel({str(self.path)!r}, kind={self.card['model'].get('kind')!r}, "
                f"labels={len(self.labels)}, features={self.n_features})")

    def _get_session(self):
        if self._session is None:
            with self._lock:
                if self._session is None:
                    import onnxruntime as ort

                    opts = ort.SessionOptions()
                    opts.intra_op_num_threads = self.intra_op_threads
                    opts.inter_op_num_threads = 1
                    opts.log_severity_level = 3
                    try:
                        self._session = ort.InferenceSession(
                            self._members[self.card["onnx"]["member"]], sess_options=opts,
                            providers=["CPUExecutionProvider"])
                    except Exception as exc:  # onnxruntime raises its own exception types
                        raise ModelFileError(f"{self.path}: ONNX Runtime cannot load the model ({exc})") from exc
        return self._session

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_labels)`` float64 (rows sum to 1) for features ``X`` ``(n, d)``.

        Columns follow :attr:`labels`. Raises :class:`FeatureMismatchError`
        if ``X`` is not 2-D with ``d == n_features``, or holds NaN/inf.
        """
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            fs = self.card["feature_set"]
            raise FeatureMismatchError(
                f"{self.path}: model expects features of shape (n, {self.n_features}) from feature set "
                f"{fs.get('name')!r} v{fs.get('version')}, got shape {X.shape}")
        if len(X) == 0:
            return np.zeros((0, len(self.labels)))
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        if not np.all(np.isfinite(X32)):
            raise FeatureMismatchError(f"{self.path}: features contain NaN or infinite values "
                                       "(or values beyond float32 range)")
        info = self.card["onnx"]
        out = self._get_session().run([info["output"]], {info["input"]: X32})[0]
        p = np.asarray(out, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != len(self.labels):
            raise ModelFileError(f"{self.path}: ONNX output has shape {p.shape}, "
                                 f"expected (n, {len(self.labels)}) for the card's labels")
        p = np.clip(p, 0.0, None)
        sums = p.sum(axis=1, keepdims=True)
        return np.divide(p, sums, out=np.full_like(p, 1.0 / p.shape[1]), where=sums > 0)


def load_model(path: str | Path, *, intra_op_threads: int = 1) -> GenreModel:
    """Open and verify a ``.genre`` file; the ONNX Runtime session is created on first use.

    Raises :class:`~genrekit.errors.ModelFileError` (message starts with the
    path) if the file is missing, not a zip, truncated, tampered with (a hash
    mismatch), from a newer genrekit, or internally inconsistent.
    """
    path = Path(path)

    def fail(msg: str):
        raise ModelFileError(f"{path}: {msg}")

    if intra_op_threads < 0:
        raise ValueError("intra_op_threads must be >= 0 (0 = ONNX Runtime's default)")
    if not path.exists():
        fail("model file not found")
    if not path.is_file():
        fail("not a file")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                fail("corrupt or tampered model file (duplicate member names)")
            for info in infos:
                if info.filename != CARD_MEMBER and not _valid_member_name(info.filename):
                    fail(f"unexpected member {info.filename!r} (a model file holds only .json and .onnx members)")
                if info.file_size > MAX_MEMBER_BYTES:
                    fail(f"member {info.filename!r} is implausibly large ({info.file_size} bytes)")
            if CARD_MEMBER not in names:
                fail(f"not a genrekit model file (no {CARD_MEMBER})")
            members = {name: zf.read(name) for name in names}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        fail(f"not a genrekit model file, or corrupt/truncated ({type(exc).__name__}: {exc})")

    try:
        card = json.loads(members.pop(CARD_MEMBER).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"card.json is not valid UTF-8 JSON ({exc})")
    if not isinstance(card, dict):
        fail("card.json must hold a JSON object")
    if card.get("format") != FORMAT:
        fail(f"not a genrekit model file (format {card.get('format')!r}, expected {FORMAT!r})")
    version = card.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        fail(f"bad format_version {version!r}")
    if version > FORMAT_VERSION:
        fail(f"made by a newer genrekit (format_version {version}; this genrekit reads up to "
             f"{FORMAT_VERSION}): upgrade genrekit to use it")

    # Integrity before trusting any field.
    recorded = card.get("card_sha256")
    if not isinstance(recorded, str):
        fail("card has no card_sha256 (tampered with, or not written by genrekit)")
    try:
        actual = _sha256(_canonical(card))
    except (TypeError, ValueError) as exc:
        fail(f"card cannot be re-serialised for its hash check ({exc})")
    if actual != recorded:
        fail("card.json was modified after the model was saved (sha256 mismatch): refusing to load")
    hashes = card.get("members")
    if not isinstance(hashes, dict):
        fail("card has no 'members' hash table")
    if set(hashes) != set(members):
        extra = sorted(set(members) - set(hashes))
        lacking = sorted(set(hashes) - set(members))
        fail(f"members differ from the card's list (unlisted: {extra or 'none'}; missing: {lacking or 'none'})")
    for name, data in members.items():
        if _sha256(data) != hashes[name]:
            fail(f"member {name!r} was modified after the model was saved (sha256 mismatch): refusing to load")

    _check_card_fields(card, fail)
    onnx_info = card.get("onnx")
    if not isinstance(onnx_info, dict) or not {"member", "input", "output"} <= set(onnx_info):
        fail("card 'onnx' must name the member, input and output")
    if onnx_info["member"] not in members or not onnx_info["member"].endswith(".onnx"):
        fail(f"card names ONNX member {onnx_info['member']!r}, which the file does not hold")
    try:
        io_info = _onnx_io(members[onnx_info["member"]])
    except Exception as exc:  # protobuf's DecodeError and friends
        fail(f"{onnx_info['member']} is not a valid ONNX model ({type(exc).__name__}: {exc})")
    _check_onnx_against_card(io_info, card, fail)
    return GenreModel(path, card, members, intra_op_threads=intra_op_threads)


def read_card(path: str | Path) -> dict[str, Any]:
    """The verified card of a model file (same checks as :func:`load_model`)."""
    return load_model(path).card


__all__ = [
    "FORMAT", "FORMAT_VERSION", "FeatureMismatchError", "GenreModel", "SUFFIX", "check_export",
    "export_pipeline", "load_model", "read_card", "save_model",
]
