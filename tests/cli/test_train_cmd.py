"""``genrekit train``: the configs its flags build, its usage errors, and real trainings on a tiny collection."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from genrekit.errors import ConfigError
from genrekit.trainers import ClassicConfig, CNNConfig, EnsembleConfig

CARD = {"labels": ["noise", "tones"], "feature_set": {"name": "seed"}, "training": {"n_tracks": 8, "n_windows": 24}}


@dataclass
class FakeCard:
    """Stands for :class:`genrekit.models.card.ModelCard`: only ``to_json`` is read."""

    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.data


@dataclass
class FakeResult:
    path: Path
    card: FakeCard
    validation: dict[str, Any] | None = None
    search: dict[str, Any] | None = None
    failures: list[Any] = field(default_factory=list)


@pytest.fixture
def fake_train(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace ``genrekit.training.train`` by a recorder: each call's kind, config and run options, no training."""
    calls: list[dict[str, Any]] = []

    def train(source, out, kind="svm", config=None, **run):
        calls.append({"source": source, "out": out, "kind": kind, "config": config, **run})
        if isinstance(calls[-1].get("raise"), Exception):
            raise calls[-1]["raise"]
        return FakeResult(Path(out), FakeCard(CARD))

    monkeypatch.setattr("genrekit.training.train", train)
    monkeypatch.setattr("genrekit.cli.train_cmd.torch_installed", lambda: True)
    return calls


# ----------------------------------------------------------------------------- flags -> typed configs


def test_no_flags_give_the_api_defaults(cli, fake_train, tmp_path):
    result = cli("train", tmp_path, "-o", tmp_path / "m.genre")
    assert result.exit_code == 0, result.output
    (call,) = fake_train
    assert call["kind"] == "svm" and call["config"] == ClassicConfig()
    assert (call["jobs"], call["cache_dir"]) == (1, None)
    assert f"wrote {tmp_path / 'm.genre'}: svm on seed, 8 tracks / 24 windows" in result.stdout


@pytest.mark.parametrize("kind, config_type", [("rf", ClassicConfig), ("cnn", CNNConfig), ("ensemble", EnsembleConfig)])
def test_every_kind_starts_from_its_config_defaults(cli, fake_train, tmp_path, kind, config_type):
    members = ["--members", tmp_path / "a.genre", tmp_path / "b.genre"] if kind == "ensemble" else []
    result = cli("train", tmp_path, "--model", kind, *members)
    assert result.exit_code == 0, result.output
    (call,) = fake_train
    expected = config_type()
    if kind == "ensemble":
        expected = dataclasses.replace(expected, members=(str(tmp_path / "a.genre"), str(tmp_path / "b.genre")))
    assert call["kind"] == kind and call["config"] == expected


def test_given_flags_replace_only_their_fields(cli, fake_train, tmp_path):
    result = cli("train", tmp_path, "--model", "logreg", "--set", "seed", "--window", "2", "--hop", "0.5",
                 "--aggregation", "vote", "--search", "--all", "--seed", "7", "-j", "3", "--cache-dir", tmp_path / "c")
    assert result.exit_code == 0, result.output
    (call,) = fake_train
    assert call["config"] == ClassicConfig(feature_set="seed", window=2.0, hop=0.5, aggregation="vote", search=True,
                                           use_all=True, seed=7)
    assert (call["jobs"], call["cache_dir"]) == (3, tmp_path / "c")


def test_no_calibrate_turns_the_sigmoid_calibrators_off(cli, fake_train, tmp_path):
    result = cli("train", tmp_path, "--model", "logreg", "--set", "seed", "--no-calibrate")
    assert result.exit_code == 0, result.output
    (call,) = fake_train
    assert call["config"] == ClassicConfig(feature_set="seed", calibrate=False)


def test_tag_prior_flag_reaches_the_classic_config(cli, fake_train, tmp_path):
    result = cli("train", tmp_path, "--model", "logreg", "--set", "musicnn_tags", "--search", "--no-calibrate",
                 "--tag-prior")
    assert result.exit_code == 0, result.output
    (call,) = fake_train
    assert call["config"] == ClassicConfig(feature_set="musicnn_tags", search=True, calibrate=False, tag_prior=True)

    result = cli("train", tmp_path, "--model", "logreg", "--set", "musicnn_tags", "--tag-prior", "--prior-weight", "0.5")
    assert result.exit_code == 0, result.output
    assert fake_train[1]["config"] == ClassicConfig(feature_set="musicnn_tags", tag_prior=True, prior_weight=0.5)


def test_the_summary_says_what_weight_the_tag_prior_got(cli, monkeypatch, tmp_path):
    card = CARD | {"labels": ["jazz", "metal", "tones"],
                   "model": {"kind": "logreg", "tag_prior": {"weight": 0.5, "chosen_by": "grouped cross-validation",
                                                             "tags": {"jazz": ["MSD:jazz"], "metal": ["MSD:metal"]}}}}
    monkeypatch.setattr("genrekit.training.train", lambda source, out, kind, config, **run: FakeResult(Path(out), FakeCard(card)))
    result = cli("train", tmp_path, "--model", "logreg", "--set", "musicnn_tags", "--tag-prior")
    assert result.exit_code == 0, result.output
    assert "tag prior: weight 0.5 (grouped cross-validation); tags speak for 2 of 3 labels" in result.stdout


def test_cnn_flags(cli, fake_train, tmp_path):
    result = cli("train", tmp_path, "--model", "cnn", "--init", "musicnn", "--fine-tune", "backend", "--epochs", "2",
                 "--stop-on", "valid", "--hop", "1.5", "--aggregation", "logmean", "--seed", "4", "--all")
    assert result.exit_code == 0, result.output
    (call,) = fake_train
    assert call["config"] == dataclasses.replace(CNNConfig(), init="musicnn", fine_tune="backend", epochs=2,
                                                 stop_on="valid", hop=1.5, aggregation="logmean", seed=4, use_all=True)
    assert "cnn (musicnn) on seed" in result.stdout


def test_members_follow_one_flag_or_come_as_extra_arguments(cli, fake_train, tmp_path):
    a, b, c = (tmp_path / f"{n}.genre" for n in "abc")
    result = cli("train", tmp_path, "--model", "ensemble", "--members", a, b, c, "--window", "3")
    assert result.exit_code == 0, result.output
    assert fake_train[0]["config"] == dataclasses.replace(EnsembleConfig(), members=(str(a), str(b), str(c)), window=3.0)
    assert "ensemble of 3 models" in result.stdout


def test_no_hpss_reaches_the_feature_options_of_sets_that_take_it(cli, fake_train, test_sets, tmp_path):
    ok = cli("train", tmp_path, "--set", "test-cli-hpss", "--no-hpss")
    assert ok.exit_code == 0, ok.output
    assert fake_train[0]["config"].feature_options == {"hpss": False}
    bad = cli("train", tmp_path, "--set", test_sets.name, "--no-hpss")
    assert bad.exit_code == 2 and "--no-hpss applies only to feature sets with an HPSS step" in bad.stderr
    assert len(fake_train) == 1


def test_json_prints_the_card(cli, fake_train, tmp_path):
    result = cli("train", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == CARD


# ----------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "svm", "--epochs", "3"], "--epochs does not apply to --model svm"),
        (["--model", "rf", "--init", "musicnn", "--stop-on", "valid"], "--init, --stop-on do not apply to --model rf"),
        (["--model", "cnn", "--search"], "--search does not apply to --model cnn"),
        (["--model", "cnn", "--no-calibrate"], "--no-calibrate does not apply to --model cnn"),
        (["--model", "cnn", "--set", "seed"], "--set does not apply to --model cnn"),
        (["--model", "cnn", "--tag-prior"], "--tag-prior does not apply to --model cnn"),
        (["--model", "ensemble", "--members", "a.genre", "b.genre", "--all"], "--all does not apply to --model ensemble"),
        (["--model", "cnn", "--window", "3"], "a cnn's window is its input patch"),
        (["--model", "cnn", "--fine-tune", "head"], "--fine-tune is for --model cnn --init musicnn"),
        (["--model", "svm", "--fine-tune", "all"], "--fine-tune is for --model cnn --init musicnn"),
        (["--model", "svm", "extra.genre"], "unexpected argument(s): extra.genre"),
    ],
)
def test_flags_that_do_not_apply_are_usage_errors(cli, fake_train, tmp_path, args, message):
    result = cli("train", tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert f"error: {message}" in result.stderr
    assert fake_train == []


def test_wrong_choices_are_refused_by_typer(cli, fake_train, tmp_path):
    for flag, value in [("--model", "magic"), ("--init", "imagenet"), ("--fine-tune", "deep"), ("--stop-on", "test"),
                        ("--aggregation", "median")]:
        result = cli("train", tmp_path, flag, value)
        assert result.exit_code == 2, (flag, result.output)
        assert f"'{value}' is not one of" in result.output
    assert fake_train == []


def test_a_cnn_without_torch_names_the_extra(cli, fake_train, monkeypatch, tmp_path):
    monkeypatch.setattr("genrekit.cli.train_cmd.torch_installed", lambda: False)
    result = cli("train", tmp_path, "--model", "cnn")
    assert result.exit_code == 2 and "genrekit[train]" in result.stderr
    assert fake_train == []


def test_a_config_error_from_the_library_is_a_usage_error_printed_verbatim(cli, monkeypatch, tmp_path):
    def train(*args, **kwargs):
        raise ConfigError("unknown params for [b]svm[/b] in /x/[odd].csv")

    monkeypatch.setattr("genrekit.training.train", train)
    result = cli("train", tmp_path)
    assert result.exit_code == 2
    assert "error: unknown params for [b]svm[/b] in /x/[odd].csv" in result.stderr


def test_anything_else_from_the_library_is_a_bug_with_a_traceback(cli, monkeypatch, tmp_path):
    def train(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr("genrekit.training.train", train)
    result = cli("train", tmp_path)
    assert isinstance(result.exception, ValueError)  # not swallowed into a usage error
    assert result.exit_code not in (0, 2)


# ----------------------------------------------------------------------------- real trainings


def test_train_a_classic_model(cli, tiny_collection: Path, tmp_path: Path):
    """Moved here from tests/cli/test_predict_cmd.py (the train half of test_train_then_evaluate_from_the_command_line)."""
    out = tmp_path / "cli.genre"
    trained = cli("train", tiny_collection, "-o", out, "--set", "seed", "--model", "rf", "--window", "1", "-q")
    assert trained.exit_code == 0, trained.output
    assert out.is_file() and "valid split (4 tracks)" in trained.stdout
    assert "rf on seed" in trained.stdout


def test_train_rejects_an_unknown_model(cli, tiny_collection: Path, tmp_path: Path):
    """Moved here from tests/cli/test_predict_cmd.py."""
    result = cli("train", tiny_collection, "--model", "magic", "-o", tmp_path / "m.genre")
    assert result.exit_code == 2 and "'magic' is not one of" in result.output
    assert not (tmp_path / "m.genre").exists()


@pytest.fixture(scope="module")
def members(cli, tiny_collection: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two member models for an ensemble, trained by ``genrekit train``."""
    root = tmp_path_factory.mktemp("members")
    a, b = root / "lr.genre", root / "rf.genre"
    for out, args in [(a, ["--model", "logreg", "--window", "1", "--hop", "0.5"]), (b, ["--model", "rf", "--window", "2"])]:
        result = cli("train", tiny_collection, "-o", out, "--set", "seed", *args, "-q")
        assert result.exit_code == 0, result.output
    return [a, b]


def test_cli_takes_members_after_one_flag(cli, members, tiny_collection: Path, tmp_path: Path):
    """Moved here from tests/models/test_ensemble.py."""
    out = tmp_path / "cli.genre"
    result = cli("train", tiny_collection, "--model", "ensemble", "--members", members[0], members[1], "--out", out,
                 "--quiet")
    assert result.exit_code == 0, result.output
    assert "ensemble of 2 models" in result.stdout and out.is_file()


def test_cli_fine_tune_is_only_for_musicnn(cli, tiny_collection: Path, tmp_path: Path):
    """Moved here from tests/models/test_cnn.py."""
    result = cli("train", tiny_collection, "--model", "cnn", "--fine-tune", "head", "--out", tmp_path / "x.genre",
                 "--quiet")
    assert result.exit_code == 2 and "--fine-tune is for --model cnn --init musicnn" in result.output
    assert not (tmp_path / "x.genre").exists()


def test_cli_trains_a_cnn(cli, tiny_collection: Path, tmp_path: Path):
    """Moved here from tests/models/test_cnn.py."""
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'genrekit[train]')")
    torch.set_num_threads(1)
    out = tmp_path / "cli.genre"
    result = cli("train", tiny_collection, "--model", "cnn", "--epochs", "1", "--seed", "1", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert "cnn (scratch) on logmel" in result.stdout and "valid split (4 tracks)" in result.stdout
    assert out.is_file()


def test_defaults_the_help_quotes_are_the_configs_defaults(cli):
    import re

    text = re.sub(r"[\s│]+", " ", cli("train", "--help").output)  # unwrap rich's boxed, wrapped help
    assert f"(default {ClassicConfig().window:g};" in text
    assert f"(default: {ClassicConfig().feature_set};" in text
    assert f"(default: {ClassicConfig().aggregation})" in text
    assert f"(default: {ClassicConfig().seed})" in text
    assert f"default {CNNConfig().epochs})" in text
    assert f"{CNNConfig().init} (default:" in text and f"(default, {CNNConfig().stop_on}:" in text


# ----------------------------------------------------------------------------- --labels-from-tags


def _tagged_library(root: Path) -> Path:
    """Two genres of three artists each (spelled two ways), a one-artist genre, and an untagged file."""
    import mutagen
    import soundfile as sf

    from synth import sine

    files = [(f"Hip-Hop Artist {a}", "Hip-Hop" if a else "hip hop") for a in range(3)]
    files += [(f"Rock Artist {a}", "Rock") for a in range(3)] + [("Polka Band", "Polka"), ("Newcomer", "")]
    root.mkdir(parents=True, exist_ok=True)
    for i, (artist, genre) in enumerate(files):
        path = root / f"{i:02d}.flac"
        sf.write(path, sine(200.0 + 50 * i, seconds=1.0), 22050)
        audio = mutagen.File(path, easy=True)
        audio.update({"artist": artist, **({"genre": genre} if genre else {})})
        audio.save()
    return root


def test_labels_from_tags_trains_on_the_library_with_musicnn_by_default(cli, fake_train, tmp_path):
    library = _tagged_library(tmp_path / "music")
    result = cli("train", library, "--labels-from-tags", "-o", tmp_path / "m.genre", "-q")
    assert result.exit_code == 0, result.output

    (call,) = fake_train
    assert call["config"].feature_set == "musicnn"
    assert {r.label for r in call["source"]} == {"Hip-Hop", "Rock"} and len(call["source"]) == 6
    assert {r.group for r in call["source"] if r.split == "train"}.isdisjoint(
        {r.group for r in call["source"] if r.split == "valid"})
    entry = call["card_extra"]["taxonomy"]
    assert entry["labels_from"] == "tags" and entry["spellings"] == {"hip hop": "Hip-Hop"}
    assert entry["library"] == str(library)
    assert "spellings of Hip-Hop: 'hip hop'" in result.stdout
    assert "dropped Polka: 1 artist(s), 1 file(s) (fewer than 3 artists)" in result.stdout
    assert "1 files have no genre a person entered" in result.stdout


def test_labels_from_tags_honours_set_and_min_artists(cli, fake_train, tmp_path):
    library = _tagged_library(tmp_path / "music")
    result = cli("train", library, "--labels-from-tags", "--set", "seed", "--min-artists", "1",
                 "-o", tmp_path / "m.genre", "-q")
    assert result.exit_code == 0, result.output
    (call,) = fake_train
    assert call["config"].feature_set == "seed"
    assert {r.label for r in call["source"]} == {"Hip-Hop", "Rock", "Polka"}


def test_labels_from_tags_usage_errors(cli, fake_train, tmp_path):
    library = _tagged_library(tmp_path / "music")
    alone = cli("train", library, "--min-artists", "2", "-o", tmp_path / "m.genre")
    assert alone.exit_code == 2 and "error: --min-artists is for --labels-from-tags" in alone.stderr
    nothing = cli("train", library, "--labels-from-tags", "--min-artists", "4", "-o", tmp_path / "m.genre", "-q")
    assert nothing.exit_code == 2 and "no genre tag is shared by at least 4 artists" in nothing.stderr
    empty = cli("train", tmp_path / "nowhere", "--labels-from-tags", "-o", tmp_path / "m.genre", "-q")
    assert empty.exit_code == 2 and "nowhere: no such file or folder" in empty.stderr
    assert not fake_train


def test_labels_from_tags_json_prints_only_the_card(cli, fake_train, tmp_path):
    library = _tagged_library(tmp_path / "music")
    result = cli("train", library, "--labels-from-tags", "--json", "-o", tmp_path / "m.genre")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == CARD


def test_labels_from_tags_help_quotes_the_defaults(cli):
    import re

    from genrekit.library.taxonomy import DEFAULT_MIN_ARTISTS, TAGS_FEATURE_SET

    text = re.sub(r"[\s│]+", " ", cli("train", "--help").output)
    assert f"{TAGS_FEATURE_SET} with --labels-from-tags" in text
    assert f"(default {DEFAULT_MIN_ARTISTS})" in text
