"""Classic pipelines: construction, balancing, grouped search, calibration, exact ONNX conversion."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import make_classification

from genrekit.evaluation import GroupLeakError, assert_no_group_leak
from genrekit.models import classic
from genrekit.models.bundle import check_export, export_pipeline


def grouped_data(n_tracks=60, windows=5, n_classes=3, d=8, seed=0, weights=None):
    """Windows of a track share the track's point plus noise, like feature windows of one recording."""
    rng = np.random.default_rng(seed)
    base, track_y = make_classification(n_tracks, d, n_informative=5, n_redundant=1, n_classes=n_classes,
                                        weights=weights, random_state=seed)
    X = np.repeat(base, windows, axis=0) + 0.5 * rng.standard_normal((n_tracks * windows, d))
    labels = np.array(["blues", "jazz", "metal", "pop", "rock"][:n_classes])
    y = labels[np.repeat(track_y, windows)]
    groups = np.repeat([f"t{i:03d}" for i in range(n_tracks)], windows)
    return X, y, groups


@pytest.fixture(scope="module")
def data():
    X, y, g = grouped_data()
    test = np.isin(g, np.unique(g)[::4])
    return X[~test], y[~test], g[~test], X[test]


CASES = [("svm", True), ("rf", False), ("rf", True), ("logreg", False), ("logreg", True), ("knn", False),
         ("knn", True), ("gbm", False), ("gbm", True)]


@pytest.mark.parametrize(("model", "calibrate"), CASES)
def test_pipeline_converts_to_onnx_exactly(model, calibrate, data):
    import onnxruntime as ort

    X, y, g, X_test = data
    params = {"n_estimators": 20} if model in ("rf", "gbm") else {}
    pipe = classic.fit_pipeline(classic.build_pipeline(model, calibrate=calibrate, **params), X, y, g)
    assert [name for name, _ in pipe.steps] == ["scaler", "clf"]
    assert classic.is_calibrated(pipe) == calibrate
    proto = export_pipeline(pipe, X.shape[1])
    assert [o.name for o in proto.graph.output] == ["label", "probabilities"]
    assert not any(node.op_type == "ZipMap" for node in proto.graph.node)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "features"
    probs = session.run(["probabilities"], {"features": X_test.astype(np.float32)})[0]
    assert probs.dtype == np.float32 and probs.shape == (len(X_test), 3)
    np.testing.assert_allclose(probs, pipe.predict_proba(X_test), atol=1e-4)
    assert check_export(proto, pipe, X_test) <= 1e-4
    assert json.loads(proto.metadata_props[0].value) == classic.pipeline_labels(pipe)


def test_default_calibration_follows_the_measurements():
    calibrated = {m: classic.is_calibrated(classic.build_pipeline(m)) for m in classic.MODELS}
    assert calibrated == {"svm": True, "rf": False, "logreg": True, "knn": True, "gbm": True}
    assert classic.is_calibrated(classic.build_pipeline("rf", calibrate=True))
    assert not classic.is_calibrated(classic.build_pipeline("logreg", calibrate=False))


def test_class_weights_are_balanced_by_default():
    for model in ("svm", "rf", "logreg", "gbm"):
        est = classic.base_estimator(classic.build_pipeline(model))
        assert est.get_params()["class_weight"] == "balanced", model
    assert classic.build_pipeline("svm", C=3.0).steps[-1][1].estimator.C == 3.0


def test_balanced_gbm_equals_explicit_balanced_sample_weights():
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.utils.class_weight import compute_sample_weight

    X, y, _ = grouped_data(n_tracks=80, windows=2, weights=[0.7, 0.2, 0.1], seed=3)
    ours = classic.base_estimator(classic.build_pipeline("gbm", n_estimators=15, subsample=1.0))
    ours.fit(X, y)
    params = {k: v for k, v in ours.get_params().items() if k != "class_weight"}
    ref = GradientBoostingClassifier(**params).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X))
    plain = GradientBoostingClassifier(**params).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), ours.predict_proba(X))


def test_balanced_gbm_survives_clone_and_pickle_by_reference():
    # joblib workers (search with n_jobs > 1) pickle estimators; the lazily built class must resolve by name.
    import pickle

    from sklearn.base import clone

    est = classic.base_estimator(classic.build_pipeline("gbm", learning_rate=0.05))
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert type(pickle.loads(pickle.dumps(est))) is type(est)


def test_bad_model_and_params():
    with pytest.raises(ValueError, match="unknown model 'cnn'"):
        classic.build_pipeline("cnn")
    with pytest.raises(ValueError, match="unknown parameter"):
        classic.build_pipeline("svm", n_trees=3)
    with pytest.raises(ValueError, match="uniform"):
        classic.build_pipeline("knn", weights="distance")
    with pytest.raises(ValueError, match="calibrate"):
        classic.build_pipeline("svm", calibrate=False)
    with pytest.raises(ValueError, match="probability"):
        classic.build_pipeline("svm", probability=True)
    with pytest.raises(ValueError, match="unknown model"):
        classic.param_grid("cnn")


def test_param_grids_are_valid_classifier_parameters():
    for model in classic.MODELS:
        est = classic.base_estimator(classic.build_pipeline(model))
        grid = classic.param_grid(model)
        assert grid and set(grid) <= set(est.get_params())
        classic.build_pipeline(model, **{k: v[0] for k, v in grid.items()})


def test_calibration_folds_are_grouped(data, monkeypatch):
    import genrekit.evaluation as ev

    X, y, g, _ = data
    seen = []
    real = ev.grouped_folds

    def spy(*args, **kwargs):
        folds = real(*args, **kwargs)
        seen.extend(folds)
        return folds

    monkeypatch.setattr(ev, "grouped_folds", spy)
    pipe = classic.fit_pipeline(classic.build_pipeline("logreg", calibrate=True), X, y, g)
    assert len(seen) == 3
    for train, test in seen:
        assert_no_group_leak(g[train], g[test])
    assert pipe.steps[-1][1].cv == 3  # the index arrays are not left in the parameters
    with pytest.raises(ValueError, match="groups"):
        classic.fit_pipeline(classic.build_pipeline("logreg", calibrate=True), X, y)


def test_calibrated_fit_moves_class_balance_into_sample_weights(monkeypatch):
    # The calibrated pipeline must equal: classifier without class_weight, calibrated on the same grouped
    # folds, with balanced sample weights reaching both the classifier and the sigmoid calibrators.
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils.class_weight import compute_sample_weight

    from genrekit.evaluation import grouped_folds

    X, y, g = grouped_data(n_tracks=80, windows=3, weights=[0.7, 0.2, 0.1], seed=5)
    pipe = classic.fit_pipeline(classic.build_pipeline("logreg", calibrate=True), X, y, g, seed=2)
    assert classic.base_estimator(pipe).class_weight == "balanced"  # the asked-for setting is what's reported
    Xs = StandardScaler().fit_transform(X)
    ref = CalibratedClassifierCV(LogisticRegression(max_iter=5000), method="sigmoid", ensemble=False,
                                 cv=grouped_folds(y, g, 3, seed=2))
    ref.fit(Xs, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_allclose(pipe.predict_proba(X), ref.predict_proba(Xs), atol=1e-6)
    unweighted = CalibratedClassifierCV(LogisticRegression(max_iter=5000), method="sigmoid", ensemble=False,
                                        cv=grouped_folds(y, g, 3, seed=2)).fit(Xs, y)
    assert not np.allclose(pipe.predict_proba(X), unweighted.predict_proba(Xs), atol=1e-3)


def test_search_is_grouped_and_refits_best(data):
    X, y, g, X_test = data
    result = classic.search("logreg", X, y, g, cv=3, seed=1)
    grid = classic.param_grid("logreg")
    assert result.model == "logreg"
    assert result.best_params["C"] in grid["C"]
    assert 0.0 <= result.best_score <= 1.0
    assert len(result.cv_results) == len(grid["C"])
    assert max(r["mean_balanced_accuracy"] for r in result.cv_results) == pytest.approx(result.best_score)
    tested = np.zeros(len(y), dtype=int)
    for train, test in result.splits:
        assert set(g[train]).isdisjoint(g[test])
        tested[test] += 1
    assert np.all(tested == 1)
    assert classic.base_estimator(result.pipeline).C == result.best_params["C"]
    assert result.pipeline.predict_proba(X_test).shape == (len(X_test), 3)
    json.dumps(result.cv_results)
    json.dumps(classic.describe_pipeline(result.pipeline))


def test_search_sets_params_inside_calibration(data):
    X, y, g, X_test = data
    pipe = classic.build_pipeline("knn", calibrate=True)
    result = classic.search(pipe, X, y, g, cv=3, grid={"n_neighbors": [3, 7]})
    assert result.model == "knn"
    assert classic.is_calibrated(result.pipeline)
    assert classic.base_estimator(result.pipeline).n_neighbors == result.best_params["n_neighbors"]
    np.testing.assert_allclose(result.pipeline.predict_proba(X_test).sum(axis=1), 1.0)
    desc = classic.describe_pipeline(result.pipeline)
    assert desc["kind"] == "knn" and desc["calibration"]["grouped"] is True


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored")
def test_search_rejects_a_leaky_splitter(data):
    from sklearn.model_selection import KFold

    X, y, g, _ = data
    with pytest.raises(GroupLeakError):
        classic.search("logreg", X, y, g, cv=KFold(3, shuffle=True, random_state=0))
