"""Convert musicnn's published weights into the network files genrekit ships, without TensorFlow.

The weights ship inside the PyPI wheel ``musicnn==0.1.0`` (ISC licence) as
TensorFlow 1 checkpoints, four networks: MSD_musicnn, MTT_musicnn, MSD_vgg,
MTT_vgg. :func:`install` gets the wheel (``pip download``, or a local file),
checks it against the pinned SHA-256 and the wheel's own ``RECORD`` hashes,
reads the checkpoints with genrekit's reader, and writes one ``<model>.onnx``
per network (most large kernels stored as float16, see
:mod:`genrekit.musicnn.onnx_builder`), the shared
``mel_basis.npy``, ``manifest.json`` (provenance, hashes, and what float16
storage changes on the probe patches of :mod:`genrekit.musicnn.probe`, against
the same network in float32) and ``LICENSE-musicnn.md`` (musicnn's ISC
notice, which redistribution requires). Nothing of the wheel is executed or
installed.

The package ships exactly what this writes (``genrekit/data/models/musicnn``;
``make weights`` rewrites it): the serialisation is deterministic, so
converting the wheel again reproduces the shipped files bit for bit
(tests/musicnn/test_install.py checks it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Iterable

from genrekit.errors import GenrekitError, ModelFileError
from genrekit.fileio import atomic_write, atomic_write_bytes, atomic_write_text
from genrekit.musicnn.labels import labels_for
from genrekit.musicnn.manifest import read_manifest, sha256_file
from genrekit.musicnn.paths import (
    LICENSE_FILE,
    MANIFEST,
    MEL_BASIS_FILE,
    MODELS,
    NETWORK_SUFFIX,
    architecture,
    check_model_name,
    install_dir,
)

MUSICNN_VERSION = "0.1.0"
WHEEL_NAME = f"musicnn-{MUSICNN_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"
"""SHA-256 of the wheel on PyPI (files.pythonhosted.org), checked before anything is read from it."""
CONVERTER_VERSION = 2
"""1: float32 ``.npz`` weights of the two musicnn networks; 2: ONNX network files of all four."""
CHECKPOINT_FILES = (".index", ".data-00000-of-00001")
LICENSE_IN_WHEEL = f"musicnn-{MUSICNN_VERSION}.dist-info/LICENSE.md"

_LICENSE_HEADER = """\
The files `MSD_musicnn.onnx`, `MTT_musicnn.onnx`, `MSD_vgg.onnx` and
`MTT_vgg.onnx` in this folder hold the networks and weights of the
pre-trained musicnn models (Jordi Pons and Xavier Serra, "musicnn:
pre-trained convolutional neural networks for music audio tagging", ISMIR
2019 late-breaking/demo; https://github.com/jordipons/musicnn), converted by
genrekit from the TensorFlow checkpoints in the PyPI wheel musicnn==0.1.0
(sha256 {sha})
to ONNX graphs that re-implement musicnn's models.py. The kernels of 8192
values or more, but for musicnn's timbral front-end, are stored as float16
(rounded; the error this causes is recorded in manifest.json), the other
values unchanged; the optimizer's state is left out. `mel_basis.npy` is a mel filter bank computed
by librosa. The tag lists in genrekit/musicnn/labels.py come from musicnn's
configuration.py. musicnn is distributed under the ISC licence, reproduced below.

---

"""


class InstallError(GenrekitError):
    """The musicnn wheel could not be fetched, verified or converted."""


Progress = Callable[[str], None]


def download_wheel(dest: Path, *, progress: Progress = lambda _: None) -> Path:
    """``python -m pip download --no-deps --only-binary=:all: musicnn==0.1.0`` into ``dest``; the wheel's path."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "-q", f"musicnn=={MUSICNN_VERSION}", "-d", str(dest),
    ]  # fmt: skip
    progress(f"downloading musicnn {MUSICNN_VERSION} from PyPI (29 MB): {' '.join(cmd[2:])}")
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as error:
        raise InstallError(f"could not run pip: {error}") from error
    wheel = dest / WHEEL_NAME
    if done.returncode != 0 or not wheel.is_file():
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise InstallError(
            "pip could not download musicnn==0.1.0 (" + " / ".join(detail) + "); "
            "download the wheel elsewhere and pass it with `genrekit models install musicnn --wheel FILE`"
        )
    return wheel


def _record_hashes(wheel: zipfile.ZipFile) -> dict[str, str]:
    record = next((n for n in wheel.namelist() if n.endswith(".dist-info/RECORD")), None)
    if record is None:
        raise InstallError("the wheel has no RECORD file")
    hashes = {}
    for line in wheel.read(record).decode("utf-8").splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[1].startswith("sha256="):
            hashes[parts[0]] = parts[1][len("sha256=") :]
    return hashes


def extract_checkpoints(wheel_path: Path, dest: Path, models: Iterable[str]) -> dict[str, str]:
    """Unpack each model's ``.index`` and ``.data-*`` (each checked against RECORD); ``{model: checkpoint prefix}``."""
    models = list(models)
    prefixes = {}
    try:
        with zipfile.ZipFile(wheel_path) as wheel:
            hashes = _record_hashes(wheel)
            names = [LICENSE_IN_WHEEL] + [f"musicnn/{m}/{f}" for m in models for f in CHECKPOINT_FILES]
            for name in names:
                try:
                    data = wheel.read(name)
                except KeyError:
                    raise InstallError(f"{wheel_path}: {name} missing from the wheel") from None
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                if hashes.get(name) != digest:
                    raise InstallError(f"{wheel_path}: {name} does not match the wheel's RECORD hash; the file is damaged")
                atomic_write_bytes(dest / name, data)
    except zipfile.BadZipFile as error:
        raise InstallError(f"{wheel_path}: not a wheel (zip) file: {error}") from error
    for model in models:
        prefixes[model] = str(dest / "musicnn" / model) + os.sep  # the files are named ".index", ".data-..."
    return prefixes


def install(
    wheel: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    models: Iterable[str] = MODELS,
    force: bool = False,
    progress: Progress = lambda _: None,
) -> dict:
    """Download (or take) the musicnn 0.1.0 wheel, convert its checkpoints, and write the networks to ``data_dir``.

    Parameters
    ----------
    wheel : path of ``musicnn-0.1.0-py3-none-any.whl``; ``None`` downloads it with pip.
    data_dir : output folder; default ``$GENREKIT_DATA/models/musicnn`` (see :mod:`genrekit.musicnn.paths`).
    models : which of ``MSD_musicnn``, ``MTT_musicnn``, ``MSD_vgg``, ``MTT_vgg`` to convert.
    force : convert again even when the folder already holds these models from the same wheel.
    progress : called with one line of text per step.

    Returns the manifest written (``dict``: folder, wheel hash, and per network file, size, SHA-256
    and float16 error). Raises :class:`InstallError` when the wheel cannot be fetched or fails its checks.
    """
    models = [check_model_name(m) for m in models]
    out = install_dir(data_dir)
    manifest_path = out / MANIFEST
    if not force and manifest_path.is_file():
        manifest = read_manifest(out) or {}
        have = manifest.get("models", {})
        if (
            manifest.get("wheel_sha256") == WHEEL_SHA256
            and manifest.get("converter_version") == CONVERTER_VERSION
            and all(m in have and (out / have[m]["file"]).is_file() for m in models)
            and (out / MEL_BASIS_FILE).is_file()
        ):
            progress(f"musicnn already installed in {out} (use --force to convert again)")
            return {**manifest, "folder": str(out)}

    with tempfile.TemporaryDirectory(prefix="genrekit-musicnn-") as tmp:
        tmp_dir = Path(tmp)
        if wheel is None:
            wheel_path = download_wheel(tmp_dir / "download", progress=progress)
        else:
            wheel_path = Path(wheel).expanduser()
            if not wheel_path.is_file():
                raise InstallError(f"{wheel_path}: wheel file not found")
        sha = sha256_file(wheel_path)
        if sha != WHEEL_SHA256:
            raise InstallError(
                f"{wheel_path}: SHA-256 {sha} is not that of musicnn 0.1.0 on PyPI ({WHEEL_SHA256}); refusing to convert it"
            )
        progress(f"verified {wheel_path.name} (sha256 {sha[:12]}...)")
        prefixes = extract_checkpoints(wheel_path, tmp_dir / "wheel", models)
        licence = (tmp_dir / "wheel" / LICENSE_IN_WHEEL).read_text(encoding="utf-8")
        entries, mel_entry = convert(prefixes, out, progress=progress)

    old = (read_manifest(out) or {}).get("models", {}) if manifest_path.is_file() else {}
    manifest = {
        "source": f"musicnn=={MUSICNN_VERSION} (PyPI wheel {WHEEL_NAME})",
        "wheel_sha256": WHEEL_SHA256,
        "converter_version": CONVERTER_VERSION,
        "licence": "ISC (see LICENSE-musicnn.md)",
        "float16": "kernels of 8192 values or more (but for musicnn's timbral front-end) are stored as float16 "
                   "and cast to float32 when the network loads (the arithmetic stays float32); float16_error "
                   "compares each network's outputs with the same network in float32 on the probe patches of "
                   "genrekit.musicnn.probe (max_abs: largest absolute difference; max_relative: max_abs divided "
                   "by the largest absolute float32 value of that output)",
        "mel_basis": mel_entry,
        "models": {**{k: v for k, v in old.items() if isinstance(v, dict) and (out / v.get("file", "")).is_file()
                      and str(v.get("file", "")).endswith(NETWORK_SUFFIX)}, **entries},
    }
    atomic_write_text(out / LICENSE_FILE, _LICENSE_HEADER.format(sha=WHEEL_SHA256) + licence)
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    manifest["folder"] = str(out)
    return manifest


def convert(prefixes: dict[str, str], out: Path, *, progress: Progress = lambda _: None) -> tuple[dict, dict]:
    """Write ``<model>.onnx`` for each checkpoint prefix and ``mel_basis.npy`` into ``out``; their manifest entries.

    Each network is built twice, in float32 and with float16 kernels; the float16 one is written,
    and the difference between the two on the probe patches is recorded.
    """
    import numpy as np

    from genrekit.musicnn.model import Musicnn
    from genrekit.musicnn.onnx_builder import HALF_SUFFIX
    from genrekit.musicnn.probe import input_patches
    from genrekit.musicnn.weights import convert_checkpoint, mel_basis, network_proto

    out.mkdir(parents=True, exist_ok=True)
    mel = mel_basis()
    mel_path = atomic_write(out / MEL_BASIS_FILE, lambda f: np.save(f, mel, allow_pickle=False))
    mel_entry = {"file": mel_path.name, "bytes": mel_path.stat().st_size, "sha256": sha256_file(mel_path)}
    patches = input_patches(mel)[0]
    entries = {}
    for model, prefix in prefixes.items():
        progress(f"converting {model} (reading the TensorFlow checkpoint, checking CRC-32C)")
        try:
            weights = convert_checkpoint(prefix, model, mel=mel)
        except ModelFileError as error:
            raise InstallError(f"{model}: {error}") from error
        proto = network_proto(weights, model, half=True)
        path = atomic_write_bytes(out / f"{model}{NETWORK_SUFFIX}", proto.SerializeToString())
        entries[model] = {
            "file": path.name,
            "architecture": architecture(model),
            "bytes": path.stat().st_size,
            "sha256": sha256_file(path),
            "labels": list(labels_for(model)),
            "float16_kernels": [i.name.removesuffix(HALF_SUFFIX) for i in proto.graph.initializer
                                if i.name.endswith(HALF_SUFFIX)],
            "float16_error": float16_error(Musicnn(weights, model), Musicnn.from_file(path, model), patches),
        }
        progress(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return entries, mel_entry


ERROR_OUTPUTS = ("taggram", "penultimate", "max_pool", "mean_pool")


def float16_error(full, half, patches) -> dict[str, dict[str, float]]:
    """Per output: how far the float16-weight network ``half`` is from ``full`` (float32) on ``patches``.

    Rounded to 2 significant digits, so that the figure is the same on every machine.
    """
    import numpy as np

    a, b = full.run(patches, ERROR_OUTPUTS), half.run(patches, ERROR_OUTPUTS)
    result = {}
    for name in ERROR_OUTPUTS:
        diff = float(np.abs(a[name].astype(np.float64) - b[name]).max())
        scale = float(np.abs(a[name]).max()) or 1.0
        result[name] = {"max_abs": float(f"{diff:.2g}"), "max_relative": float(f"{diff / scale:.2g}")}
    return result


__all__ = [
    "InstallError", "WHEEL_SHA256", "convert", "download_wheel", "extract_checkpoints", "float16_error", "install",
    "read_manifest", "sha256_file",
]
