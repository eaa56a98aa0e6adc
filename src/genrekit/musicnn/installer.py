"""Fetch musicnn's published weights and convert them to genrekit's format, without TensorFlow.

The weights ship inside the PyPI wheel ``musicnn==0.1.0`` (ISC licence) as
TensorFlow 1 checkpoints. :func:`install` gets the wheel (``pip download``,
or a local file), checks it against the pinned SHA-256 and the wheel's own
``RECORD`` hashes, reads the checkpoints with genrekit's reader, and writes
one ``<model>.npz`` per model, ``manifest.json`` (provenance and hashes) and
``LICENSE-musicnn.md`` (musicnn's ISC notice, which redistribution requires).
Nothing of the wheel is executed or installed.
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
from genrekit.fileio import atomic_write_bytes, atomic_write_text
from genrekit.musicnn.labels import labels_for
from genrekit.musicnn.paths import LICENSE_FILE, MANIFEST, MODELS, check_model_name, install_dir

MUSICNN_VERSION = "0.1.0"
WHEEL_NAME = f"musicnn-{MUSICNN_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"
"""SHA-256 of the wheel on PyPI (files.pythonhosted.org), checked before anything is read from it."""
CONVERTER_VERSION = 1
CHECKPOINT_FILES = (".index", ".data-00000-of-00001")
LICENSE_IN_WHEEL = f"musicnn-{MUSICNN_VERSION}.dist-info/LICENSE.md"

_LICENSE_HEADER = """\
The files `MSD_musicnn.npz` and `MTT_musicnn.npz` in this folder hold the
weights of the pre-trained musicnn models (Jordi Pons and Xavier Serra,
"musicnn: pre-trained convolutional neural networks for music audio tagging",
ISMIR 2019 late-breaking/demo; https://github.com/jordipons/musicnn),
converted by genrekit from the TensorFlow checkpoints in the PyPI wheel
musicnn==0.1.0 (sha256 {sha}) to numpy arrays; the values are unchanged
(the optimizer's state is left out; a mel filter bank computed by librosa is added).
The tag lists in genrekit/musicnn/labels.py come from musicnn's configuration.py.
musicnn is distributed under the ISC licence, reproduced below.

---

"""


class InstallError(GenrekitError):
    """The musicnn wheel could not be fetched, verified or converted."""


Progress = Callable[[str], None]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
    """Download (or take) the musicnn 0.1.0 wheel, convert its checkpoints, and write them to ``data_dir``.

    Parameters
    ----------
    wheel : path of ``musicnn-0.1.0-py3-none-any.whl``; ``None`` downloads it with pip.
    data_dir : output folder; default ``$GENREKIT_DATA/models/musicnn`` (see :mod:`genrekit.musicnn.paths`).
    models : which of ``MSD_musicnn``, ``MTT_musicnn`` to convert.
    force : convert again even when the folder already holds these models from the same wheel.
    progress : called with one line of text per step.

    Returns the manifest written (``dict``: folder, wheel hash, and per model file, size and SHA-256).
    Raises :class:`InstallError` when the wheel cannot be fetched or fails its checks.
    """
    from genrekit.musicnn.weights import convert_checkpoint, save_weights

    models = [check_model_name(m) for m in models]
    out = install_dir(data_dir)
    manifest_path = out / MANIFEST
    if not force and manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            manifest = {}
        have = manifest.get("models", {})
        if (
            manifest.get("wheel_sha256") == WHEEL_SHA256
            and manifest.get("converter_version") == CONVERTER_VERSION
            and all(m in have and (out / have[m]["file"]).is_file() for m in models)
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
        sha = _sha256(wheel_path)
        if sha != WHEEL_SHA256:
            raise InstallError(
                f"{wheel_path}: SHA-256 {sha} is not that of musicnn 0.1.0 on PyPI ({WHEEL_SHA256}); refusing to convert it"
            )
        progress(f"verified {wheel_path.name} (sha256 {sha[:12]}...)")
        prefixes = extract_checkpoints(wheel_path, tmp_dir / "wheel", models)
        licence = (tmp_dir / "wheel" / LICENSE_IN_WHEEL).read_text(encoding="utf-8")

        out.mkdir(parents=True, exist_ok=True)
        entries = {}
        for model in models:
            progress(f"converting {model} (reading the TensorFlow checkpoint, checking CRC-32C)")
            try:
                weights = convert_checkpoint(prefixes[model])
            except ModelFileError as error:
                raise InstallError(f"{model}: {error}") from error
            path = save_weights(weights, out / f"{model}.npz")
            entries[model] = {
                "file": path.name,
                "bytes": path.stat().st_size,
                "sha256": _sha256(path),
                "labels": list(labels_for(model)),
            }
            progress(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")

    old = {}
    if manifest_path.is_file():
        try:
            old = json.loads(manifest_path.read_text()).get("models", {})
        except (OSError, ValueError):
            old = {}
    manifest = {
        "source": f"musicnn=={MUSICNN_VERSION} (PyPI wheel {WHEEL_NAME})",
        "wheel_sha256": WHEEL_SHA256,
        "converter_version": CONVERTER_VERSION,
        "licence": "ISC (see LICENSE-musicnn.md)",
        "models": {**{k: v for k, v in old.items() if (out / v.get("file", "")).is_file()}, **entries},
    }
    atomic_write_text(out / LICENSE_FILE, _LICENSE_HEADER.format(sha=WHEEL_SHA256) + licence)
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    manifest["folder"] = str(out)
    return manifest


def read_manifest(folder: Path) -> dict | None:
    """The manifest of an install folder, or ``None`` when there is none (or it is unreadable)."""
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


__all__ = ["InstallError", "WHEEL_SHA256", "download_wheel", "extract_checkpoints", "install", "read_manifest"]
