"""The fixed choices of the commands' options, as ``str`` enums.

typer validates an enum option itself (a wrong value is a usage error, exit
code 2, naming the choices) and lists the choices in ``--help``, so no
command checks these values by hand. The values are written out here rather
than imported from the modules that use them, because those modules import
scikit-learn, numpy or torch and the CLI must start fast; tests check that
both lists agree. The fine-tune levels are the exception: their tuple lives
in the torch-free ``genrekit.models.cnn`` package.
"""

from __future__ import annotations

from enum import Enum

from genrekit.models.cnn import FINE_TUNE_LEVELS


class ModelKind(str, Enum):
    """What ``genrekit train`` fits: a classic estimator, a spectrogram CNN, or an ensemble of model files."""

    svm = "svm"
    rf = "rf"
    logreg = "logreg"
    knn = "knn"
    gbm = "gbm"
    cnn = "cnn"
    ensemble = "ensemble"


CLASSIC_KINDS = tuple(k for k in ModelKind if k not in (ModelKind.cnn, ModelKind.ensemble))


class Init(str, Enum):
    """Where a CNN starts: a small VGG from scratch, or the pretrained musicnn."""

    scratch = "scratch"
    musicnn = "musicnn"


FineTune = Enum("FineTune", [(level, level) for level in FINE_TUNE_LEVELS], type=str)  # type: ignore[misc]
FineTune.__doc__ = "How deep ``--init musicnn`` training reaches (from ``genrekit.models.cnn.FINE_TUNE_LEVELS``)."


class StopOn(str, Enum):
    """Where CNN early stopping scores each epoch: held-out train tracks, or the valid split."""

    train = "train"
    valid = "valid"


class Aggregation(str, Enum):
    """How the probabilities of a track's windows make the track's."""

    mean = "mean"
    logmean = "logmean"
    vote = "vote"


class Coverage(str, Enum):
    """How much of a track prediction analyses."""

    fast = "fast"
    full = "full"


class Split(str, Enum):
    """Which part of a collection ``genrekit evaluate`` scores."""

    valid = "valid"
    test = "test"
    train = "train"
    all = "all"


class Layout(str, Enum):
    """How ``genrekit features`` reads its sources."""

    auto = "auto"
    folders = "folders"
    manifest = "manifest"
    gtzan = "gtzan"
    files = "files"


class TagModel(str, Enum):
    """The pretrained musicnn-family taggers (``genrekit.musicnn.paths.MODELS``), shipped in the package."""

    MSD_musicnn = "MSD_musicnn"
    MTT_musicnn = "MTT_musicnn"
    MSD_vgg = "MSD_vgg"
    MTT_vgg = "MTT_vgg"


class Installable(str, Enum):
    """What ``genrekit models install`` can install."""

    musicnn = "musicnn"
