"""Classical classifiers: scikit-learn pipelines that convert to ONNX.

Every pipeline is ``StandardScaler -> classifier`` (step names ``"scaler"``
and ``"clf"``) and has ``predict_proba``. The choices below are driven by what
skl2onnx (1.20) converts *exactly* (ONNX probabilities within 1e-4 of
scikit-learn's; checked by the tests):

==========  ==================================================  =================  ==========
model       classifier                                          unbalanced labels  calibrated
==========  ==================================================  =================  ==========
``svm``     ``SVC`` (RBF)                                       ``class_weight``   always
``rf``      ``RandomForestClassifier``                          ``class_weight``   on request
``logreg``  ``LogisticRegression`` (multinomial)                ``class_weight``   by default
``knn``     ``KNeighborsClassifier`` (uniform weights)          calibration only   by default
``gbm``     ``GradientBoostingClassifier`` (balanced subclass)  sample weights     by default
==========  ==================================================  =================  ==========

"Calibrated" means wrapped in a sigmoid ``CalibratedClassifierCV`` whose
folds are grouped (by whatever ``groups`` :func:`fit_pipeline` gets: pass
artist ids where known) and whose calibrators see the same class balancing
as the classifier.

Why these and not others:

- ``SVC(probability=True)`` is deprecated in scikit-learn 1.9 (removed in
  1.11) and its internal Platt scaling uses *ungrouped* folds, so windows of a
  training track sit on both sides and the probabilities come out
  over-confident. We calibrate the SVC ourselves with grouped folds instead.
- ``HistGradientBoostingClassifier`` fails to convert with skl2onnx 1.20 +
  scikit-learn 1.9 (a boolean tree attribute is rejected), so ``gbm`` is the
  classic ``GradientBoostingClassifier``; it has no ``class_weight``, so
  :class:`BalancedGradientBoostingClassifier` adds one through sample weights.
- ``KNeighborsClassifier(weights="distance")`` differs from its ONNX version
  by far more than 1e-4, so ``knn`` votes uniformly. k-NN cannot weight
  classes (its ``fit`` takes no sample weights); its calibrators are balanced
  instead.
- Calibration inside the pipeline is sigmoid only: isotonic calibration
  converts with errors far beyond 1e-4 and scikit-learn's temperature scaling
  does not convert at all. A temperature fit after training, on held-out
  predictions, is appended to the exported graph instead
  (:mod:`genrekit.models.calibration`).
- Which models are calibrated by default was measured on the GTZAN subset's
  artist-disjoint valid split (window-level top-label ECE with and without
  calibration): calibration cut logreg's and gbm's ECE sharply and k-NN's log
  loss (raw k-NN votes give hard zeros), and made rf's worse (the forest's
  averaged votes are already calibrated). Under a track-grouped CV without
  artist shift every calibrated model is under-confident instead, so the
  gains depend on how new the test artists are. The figures are in
  ``docs/results.md`` ("Design measurements").

Pipelines that hold a :class:`~sklearn.calibration.CalibratedClassifierCV`
need the track groups at fit time, so fit them with :func:`fit_pipeline`.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from genrekit.errors import ConfigError

if TYPE_CHECKING:  # heavy imports stay out of module import time
    from sklearn.pipeline import Pipeline

MODELS: tuple[str, ...] = ("svm", "rf", "logreg", "knn", "gbm")

# Models whose probabilities are calibrated (grouped sigmoid) unless asked otherwise; see the module
# docstring for the reasons and docs/results.md ("Design measurements") for the figures.
_CALIBRATED_BY_DEFAULT = frozenset({"svm", "logreg", "knn", "gbm"})

_GBC_CLASS = None


def _balanced_gbc_class() -> type:
    """Build (once) the GradientBoostingClassifier subclass with ``class_weight``.

    Built lazily so that importing this module does not import scikit-learn.
    """
    global _GBC_CLASS
    if _GBC_CLASS is not None:
        return _GBC_CLASS

    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.utils.class_weight import compute_sample_weight

    class BalancedGradientBoostingClassifier(GradientBoostingClassifier):
        """GradientBoostingClassifier with ``class_weight`` (``"balanced"``, a dict or None).

        The weights become per-sample weights at ``fit``; predictions and the
        ONNX graph are those of the parent class. Every other parameter is
        the parent's (the signature is copied, so it follows scikit-learn).
        """

        def __init__(self, *, class_weight: Any = "balanced", **params: Any) -> None:
            super().__init__(**params)
            self.class_weight = class_weight

        def fit(self, X, y, sample_weight=None, monitor=None):
            if self.class_weight is not None:
                weights = compute_sample_weight(self.class_weight, y)
                sample_weight = weights if sample_weight is None else np.asarray(sample_weight) * weights
            return super().fit(X, y, sample_weight=sample_weight, monitor=monitor)

    # scikit-learn reads parameter names from the __init__ signature: expose the parent's plus class_weight.
    parent = inspect.signature(GradientBoostingClassifier.__init__)
    extra = inspect.Parameter("class_weight", inspect.Parameter.KEYWORD_ONLY, default="balanced")
    params = [p for p in parent.parameters.values() if p.name != "self"]
    BalancedGradientBoostingClassifier.__init__.__signature__ = parent.replace(
        parameters=[parent.parameters["self"], extra, *params])
    BalancedGradientBoostingClassifier.__module__ = __name__
    BalancedGradientBoostingClassifier.__qualname__ = "BalancedGradientBoostingClassifier"
    _GBC_CLASS = BalancedGradientBoostingClassifier
    return _GBC_CLASS


def __getattr__(name: str) -> Any:
    # Module attribute on demand, so the lazily built class pickles by reference
    # (joblib workers with n_jobs > 1 import it by name).
    if name == "BalancedGradientBoostingClassifier":
        return _balanced_gbc_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_onnx_converters() -> None:
    """Teach skl2onnx that our GBM subclass converts like its parent (idempotent)."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    from skl2onnx.operator_converters.gradient_boosting import convert_sklearn_gradient_boosting_classifier

    update_registered_converter(
        _balanced_gbc_class(),
        "GenrekitBalancedGradientBoostingClassifier",
        calculate_linear_classifier_output_shapes,
        convert_sklearn_gradient_boosting_classifier,
        options={"zipmap": [True, False, "columns"], "raw_scores": [True, False],
                 "output_class_labels": [False, True], "nocl": [True, False]},
    )


def _classifier(model: str, random_state: int | None, params: dict[str, Any]):
    """The bare (uncalibrated) estimator for ``model`` with ``params`` applied."""
    if model == "svm":
        from sklearn.svm import SVC

        base = SVC(kernel="rbf", C=10.0, gamma="scale", class_weight="balanced", random_state=random_state)
    elif model == "rf":
        from sklearn.ensemble import RandomForestClassifier

        # 200 trees, leaves >= 3 windows: measured as accurate as 300 trees with leaves >= 2 under grouped CV
        # on the GTZAN subset, with a much smaller ONNX file (its size grows with the training set);
        # see docs/results.md.
        base = RandomForestClassifier(n_estimators=200, min_samples_leaf=3, class_weight="balanced",
                                      n_jobs=1, random_state=random_state)
    elif model == "logreg":
        from sklearn.linear_model import LogisticRegression

        base = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced")
    elif model == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        base = KNeighborsClassifier(n_neighbors=15, weights="uniform")
    elif model == "gbm":
        # max_features="sqrt": measured much faster fits at equal accuracy (GTZAN subset, grouped CV; docs/results.md).
        base = _balanced_gbc_class()(n_estimators=150, learning_rate=0.1, max_depth=3, subsample=0.8,
                                     max_features="sqrt", random_state=random_state)
    else:
        raise ConfigError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")
    valid = base.get_params(deep=False)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(unknown)} for model {model!r}; "
                         f"valid: {', '.join(sorted(valid))}")
    if model == "knn" and params.get("weights", "uniform") != "uniform":
        raise ConfigError("knn supports weights='uniform' only: distance weighting does not convert to ONNX exactly")
    if model == "svm" and params.get("probability"):
        raise ConfigError("svm: probability=True is deprecated in scikit-learn and leaks across groups; "
                         "genrekit calibrates the SVC with grouped folds instead")
    return base.set_params(**params)


def build_pipeline(model: str, *, random_state: int | None = 0, calibrate: bool | None = None,
                   calibration_folds: int = 3, **params: Any) -> Pipeline:
    """An unfitted ``StandardScaler -> classifier`` pipeline for ``model`` (one of :data:`MODELS`).

    ``params`` are classifier parameters (e.g. ``C=3`` for ``svm``).
    ``calibrate`` wraps the classifier in a sigmoid
    ``CalibratedClassifierCV`` whose folds are grouped (set at
    :func:`fit_pipeline` time); ``None`` means the measured default: all
    models but ``rf``.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    clf = _classifier(model, random_state, params)
    if calibrate is None:
        calibrate = model in _CALIBRATED_BY_DEFAULT
    if not calibrate and model == "svm":
        raise ConfigError("svm needs calibrate=True: it has no probabilities otherwise")
    if calibrate:
        if calibration_folds < 2:
            raise ConfigError("calibration_folds must be >= 2")
        # ``cv`` holds the fold count until fit_pipeline replaces it with grouped splits.
        clf = CalibratedClassifierCV(clf, method="sigmoid", cv=calibration_folds, ensemble=False)
    return Pipeline([("scaler", StandardScaler()), ("clf", clf)])


def is_calibrated(pipeline: Pipeline) -> bool:
    """Whether the pipeline's classifier is a ``CalibratedClassifierCV``."""
    from sklearn.calibration import CalibratedClassifierCV

    return isinstance(pipeline.steps[-1][1], CalibratedClassifierCV)


def base_estimator(pipeline: Pipeline):
    """The classifier inside the pipeline (unwrapping calibration)."""
    clf = pipeline.steps[-1][1]
    return clf.estimator if is_calibrated(pipeline) else clf


def fit_pipeline(pipeline: Pipeline, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None,
                 *, seed: int = 0) -> Pipeline:
    """Fit ``pipeline`` on ``X`` ``(n, d)``, labels ``y`` ``(n,)`` and track ``groups`` ``(n,)``.

    A calibrated pipeline gets its calibration folds from
    :func:`genrekit.evaluation.grouped_folds`, so windows of one track never
    calibrate a classifier trained on their siblings; ``groups`` is then
    required. Its class balancing moves into sample weights that reach both
    the classifier and the sigmoid calibrators: an unweighted calibrator
    pulls the arg-max back to the big classes (measured on the GTZAN subset:
    logreg's balanced accuracy dropped markedly; see ``docs/results.md``).
    ``k``-NN, which has no ``class_weight``, gets balanced calibration.
    Returns the fitted pipeline (the same object).
    """
    if not is_calibrated(pipeline):
        return pipeline.fit(X, y)

    import warnings

    from sklearn.utils.class_weight import compute_sample_weight

    from genrekit.evaluation import grouped_folds

    if groups is None:
        raise ValueError("a calibrated pipeline needs groups (track ids) to fit: calibration folds are grouped")
    cal = pipeline.steps[-1][1]
    base = cal.estimator
    has_cw = "class_weight" in base.get_params(deep=False)
    class_weight = base.get_params(deep=False)["class_weight"] if has_cw else "balanced"
    weights = None if class_weight is None else compute_sample_weight(class_weight, np.asarray(y))
    n_folds = cal.cv if isinstance(cal.cv, int) else len(cal.cv)
    cal.set_params(cv=grouped_folds(y, groups, n_splits=n_folds, seed=seed))
    if has_cw:
        base.set_params(class_weight=None)  # the sample weights carry it; both would square it
    try:
        with warnings.catch_warnings():
            # k-NN takes no sample weights: sklearn warns they only reach the calibrators, as intended.
            warnings.filterwarnings("ignore", message=".*does not appear to accept sample_weight.*")
            pipeline.fit(X, y, clf__sample_weight=weights)
    finally:
        # Keep the index arrays out of get_params / model cards, and report the balancing asked for.
        cal.set_params(cv=n_folds)
        if has_cw:
            base.set_params(class_weight=class_weight)
    return pipeline


def param_grid(model: str) -> dict[str, list[Any]]:
    """Hyper-parameter grid for ``model``, keyed by classifier parameter names.

    Small on purpose (a few dozen fits at most per fold): grouped CV on a few
    hundred tracks cannot rank finer grids reliably anyway.
    """
    grids: dict[str, dict[str, list[Any]]] = {
        "svm": {"C": [0.3, 1.0, 3.0, 10.0, 30.0, 100.0], "gamma": ["scale", 0.003, 0.01, 0.03]},
        "rf": {"max_features": ["sqrt", 0.3], "min_samples_leaf": [1, 3, 10]},
        # down to 0.0003: on 200-unit musicnn embeddings grouped CV picks C = 0.001 (docs/results.md)
        "logreg": {"C": [0.0003, 0.001, 0.003, 0.01, 0.1, 1.0, 10.0]},
        "knn": {"n_neighbors": [5, 10, 20, 40]},
        "gbm": {"learning_rate": [0.05, 0.1], "max_depth": [2, 3, 5]},
    }
    try:
        return {k: list(v) for k, v in grids[model].items()}
    except KeyError:
        raise ConfigError(f"unknown model {model!r}; choose from {', '.join(MODELS)}") from None


@dataclass
class SearchResult:
    """Outcome of :func:`search`.

    ``pipeline`` is refitted on all data with ``best_params``; ``cv_results``
    lists every candidate (params, mean and std balanced accuracy);
    ``splits`` are the ``(train_idx, test_idx)`` folds used.
    """

    pipeline: Any
    model: str
    best_params: dict[str, Any]
    best_score: float
    cv_results: list[dict[str, Any]] = field(default_factory=list)
    splits: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


def _model_name(pipeline: Pipeline) -> str:
    est = base_estimator(pipeline)
    names = {"SVC": "svm", "RandomForestClassifier": "rf", "LogisticRegression": "logreg",
             "KNeighborsClassifier": "knn", "BalancedGradientBoostingClassifier": "gbm",
             "GradientBoostingClassifier": "gbm"}
    return names.get(type(est).__name__, type(est).__name__)


def search(pipeline_or_model: Pipeline | str, X: np.ndarray, y: np.ndarray, groups: np.ndarray, *,
           cv: int | Any = 5, grid: dict[str, list[Any]] | None = None, seed: int = 0, n_jobs: int = 1,
           refit: bool = True) -> SearchResult:
    """Tune hyper-parameters by grouped cross-validation, scoring balanced accuracy.

    ``cv`` is a fold count (``StratifiedGroupKFold``, shuffled with ``seed``)
    or a splitter taking ``groups``; windows of one group never sit on both
    sides of a fold. ``grid`` defaults to :func:`param_grid` and is keyed by
    classifier parameter names. The search scores the *uncalibrated*
    classifier (calibration is monotone per class and costs a further CV per
    candidate); the refit on all data restores the pipeline's calibration.
    """
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    from genrekit.evaluation import assert_no_group_leak, grouped_folds

    if isinstance(pipeline_or_model, str):
        model = pipeline_or_model
        pipeline = build_pipeline(model, random_state=seed)
    else:
        pipeline = pipeline_or_model
        model = _model_name(pipeline)
    if grid is None:
        grid = param_grid(model)
    X = np.asarray(X)
    y = np.asarray(y)
    groups = np.asarray(groups)
    if isinstance(cv, int):
        splits = grouped_folds(y, groups, n_splits=cv, seed=seed)
    else:
        splits = [(np.asarray(tr), np.asarray(te)) for tr, te in cv.split(X, y, groups)]
    for train, test in splits:
        assert_no_group_leak(groups[train], groups[test])

    bare = Pipeline([(name, clone(step)) for name, step in pipeline.steps[:-1]]
                    + [("clf", clone(base_estimator(pipeline)))])
    gs = GridSearchCV(bare, {f"clf__{k}": list(v) for k, v in grid.items()}, scoring="balanced_accuracy",
                      cv=splits, n_jobs=n_jobs, refit=False, error_score="raise")
    gs.fit(X, y)
    best = {k.removeprefix("clf__"): _jsonable(v) for k, v in gs.best_params_.items()}
    res = gs.cv_results_
    rows = [
        {"params": {k.removeprefix("clf__"): _jsonable(v) for k, v in p.items()},
         "mean_balanced_accuracy": float(m), "std_balanced_accuracy": float(s), "rank": int(r)}
        for p, m, s, r in zip(res["params"], res["mean_test_score"], res["std_test_score"], res["rank_test_score"])
    ]
    final = clone(pipeline)
    prefix = "clf__estimator__" if is_calibrated(final) else "clf__"
    final.set_params(**{prefix + k.removeprefix("clf__"): v for k, v in gs.best_params_.items()})
    if refit:
        fit_pipeline(final, X, y, groups, seed=seed)
    return SearchResult(pipeline=final, model=model, best_params=best, best_score=float(gs.best_score_),
                        cv_results=rows, splits=splits)


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (numpy scalars unwrapped, objects named)."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else str(v)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


def describe_pipeline(pipeline: Pipeline) -> dict[str, Any]:
    """JSON-ready description for a model card: ``{"kind", "estimator", "params", "calibration"}``."""
    est = base_estimator(pipeline)
    calibration = None
    if is_calibrated(pipeline):
        cal = pipeline.steps[-1][1]
        calibration = {"method": cal.method, "folds": cal.cv if isinstance(cal.cv, int) else len(cal.cv),
                       "grouped": True, "ensemble": bool(cal.ensemble)}
    return {
        "kind": _model_name(pipeline),
        "estimator": type(est).__name__,
        "params": _jsonable(est.get_params(deep=False)),
        "scaler": "StandardScaler",
        "calibration": calibration,
    }


def pipeline_labels(pipeline: Pipeline) -> list[str]:
    """The fitted pipeline's class labels as strings, in ``predict_proba`` column order."""
    return [str(c) for c in pipeline.classes_]
