"""The tag prior: which columns it reads, its graph equals its Python form, and its weight is chosen by CV."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from genrekit.errors import ConfigError
from genrekit.features import get_feature_set
from genrekit.models import bundle, classic, tag_prior
from genrekit.models.tag_prior import TagPrior, genre_key

GTZAN = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]


def _columns(model: str = "MSD_musicnn") -> list[str]:
    return get_feature_set("musicnn_tags", model=model).column_names


def test_genre_names_match_whatever_their_spelling():
    assert genre_key("Hip-Hop") == genre_key("hip hop") == genre_key("HIPHOP") == "hiphop"


def test_the_plan_reads_the_tags_named_after_each_genre_and_leaves_them_out_of_the_probe():
    columns = _columns()
    prior = TagPrior.plan(columns, GTZAN)
    assert len(prior.probe_columns) == 200 and all("_penultimate_" in columns[i] for i in prior.probe_columns)
    named = dict(zip(prior.labels, prior.groups))
    assert [columns[i] for i in named["rock"]] == ["msd_musicnn_taggram_mean_rock", "msd_musicnn_taggram_mean_classic_rock",
                                                   "msd_musicnn_taggram_mean_hard_rock"]
    assert [columns[i] for i in named["hiphop"]] == ["msd_musicnn_taggram_mean_hip_hop", "msd_musicnn_taggram_mean_rnb"]
    assert named["reggae"] == () and named["classical"] == ()  # MSD's tags name neither
    mtt = dict(zip(GTZAN, TagPrior.plan(_columns("MTT_musicnn"), GTZAN).groups))
    assert mtt["classical"] and not mtt["jazz"]  # MTT's vocabulary is another


def test_the_plan_refuses_columns_or_labels_it_cannot_use():
    with pytest.raises(ConfigError, match="musicnn_tags"):
        TagPrior.plan(get_feature_set("seed").column_names, GTZAN)
    with pytest.raises(ConfigError, match="known genres"):
        TagPrior.plan(_columns(), ["tones", "noise"])
    with pytest.raises(ConfigError, match="besides the tag scores"):
        TagPrior.plan(get_feature_set("musicnn_taggram").column_names, GTZAN)


def _data(rng: np.random.Generator, tags_informative: bool, n_tracks: int = 40, windows: int = 4):
    """Windows with 200 'penultimate' columns and the 50 MSD tag scores; labels rock / jazz / metal.

    The penultimate columns carry a weak class signal; the tag named after each genre carries a strong one when
    ``tags_informative`` (otherwise it is noise)."""
    columns = _columns()
    labels = ["jazz", "metal", "rock"]
    index = {name: i for i, name in enumerate(columns)}
    rows, y, groups = [], [], []
    for t in range(n_tracks):
        label = labels[t % 3]
        for _ in range(windows):
            x = rng.uniform(0.0, 0.2, len(columns))
            x[:200] = rng.normal(size=200)
            x[labels.index(label)] += 0.4
            if tags_informative:
                x[index[f"msd_musicnn_taggram_mean_{label}"]] = rng.uniform(0.6, 1.0)
            rows.append(x)
            y.append(label)
            groups.append(f"track{t}")
    return np.asarray(rows), np.array(y), np.array(groups), columns


def test_the_graph_computes_what_the_python_form_does():
    X, y, groups, columns = _data(np.random.default_rng(0), tags_informative=True)
    prior = TagPrior.plan(columns, sorted(set(y))).fit_statistics(X)
    pipe = classic.fit_pipeline(classic.build_pipeline("logreg", calibrate=False), prior.probe_input(X), y, groups)
    for weight in (0.0, 0.7):
        fitted = tag_prior.PriorFit(pipe, replace(prior, weight=weight))
        graph = fitted.export()
        assert fitted.check(graph, X) < 1e-5
        session = bundle.onnx_session(graph, where="test")
        assert [i.shape[1] for i in session.get_inputs()] == [len(columns)]
        assert [o.name for o in session.get_outputs()] == [bundle.OUTPUT_NAME]  # no stale probe label
    probe = pipe.predict_proba(prior.probe_input(X))
    np.testing.assert_allclose(prior.apply(probe, X, weight=0.0), probe, atol=1e-12)
    boosted = prior.apply(probe, X, weight=1.0)
    rock = X[:, columns.index("msd_musicnn_taggram_mean_rock")] > 0.5
    assert (boosted[rock, 2] > probe[rock, 2]).all()  # a high rock score raises rock


def test_cv_turns_an_informative_prior_on_and_a_useless_one_off():
    X, y, groups, columns = _data(np.random.default_rng(1), tags_informative=True)
    on = tag_prior.fit(classic.build_pipeline("logreg", calibrate=False), X, y, groups, columns, search=True)
    assert on.prior.weight > 0 and on.search is not None
    assert on.prior.cv[f"{on.prior.weight:g}"] > on.prior.cv["0"]
    assert set(on.prior.describe()["tags"]) == {"jazz", "metal", "rock"}

    X, y, groups, columns = _data(np.random.default_rng(2), tags_informative=False)
    X[:, :200] += np.repeat(np.eye(3, 200)[[["jazz", "metal", "rock"].index(v) for v in y]] * 6.0, 1, axis=0)
    off = tag_prior.fit(classic.build_pipeline("logreg", calibrate=False), X, y, groups, columns)
    assert off.prior.weight == 0.0  # the probe is already right everywhere: ties go to the smaller weight


def test_a_given_weight_skips_the_search_for_one_and_must_be_a_number_of_zero_or_more():
    X, y, groups, columns = _data(np.random.default_rng(3), tags_informative=True, n_tracks=12)
    given = tag_prior.fit(classic.build_pipeline("logreg", calibrate=False), X, y, groups, columns, weight=0.8)
    assert given.prior.weight == 0.8 and given.prior.describe()["chosen_by"] == "given" and not given.prior.cv
    for bad in (-0.5, float("nan")):
        with pytest.raises(ConfigError, match="weight"):
            tag_prior.fit(classic.build_pipeline("logreg", calibrate=False), X, y, groups, columns, weight=bad)


def test_ties_between_weights_go_to_the_smaller():
    assert tag_prior.best_weight({f"{w:g}": 0.5 for w in tag_prior.WEIGHTS}) == 0.0
    assert tag_prior.best_weight({"0": 0.5, "0.25": 0.7, "0.5": 0.7, "0.75": 0.6, "1": 0.1, "1.5": 0, "2": 0}) == 0.25
