"""genrekit on a Dask LocalCluster (2 worker processes): the same results as a local run, row for row.

One cluster serves the whole module (starting one costs a few seconds).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed (pip install 'genrekit[dask]')")

from genrekit.batch import WorkerDiedError, classify_files  # noqa: E402
from genrekit.datasets import load_files  # noqa: E402
from genrekit.distributed import PathMap, connect, map_on_dask, missing_on_workers, parse_target  # noqa: E402
from genrekit.errors import AudioNotFoundError, ConfigError  # noqa: E402
from genrekit.features import get_feature_set  # noqa: E402
from genrekit.predict import Prediction  # noqa: E402
from genrekit.store import compute_features  # noqa: E402
from synth import sine, white_noise  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with connect("local:2") as c:
        yield c


# Functions the workers run: module-level, so they pickle by name.
_state: dict[str, object] = {}


def _remember(tag: str, marker_dir: str) -> None:
    _state["tag"] = tag
    _state["dir"] = marker_dir
    Path(marker_dir, f"init-{os.getpid()}-{tag}").touch()


def _tagged(item: int) -> tuple[int, str, int]:
    return item * item, str(_state["tag"]), os.getpid()


def _die_once_on(item: int) -> int:
    """Kills its worker the first time it meets item 5 (a marker file remembers), and always on item 13."""
    marker = Path(str(_state["dir"]), "died-on-5")
    if item == 5 and not marker.exists():
        marker.touch()
        os._exit(3)
    if item == 13:
        os._exit(3)
    return item * 10


def _crashed(item: int) -> str:
    return f"crashed on {item}"


def outcome(result):
    return result.to_dict() if isinstance(result, Prediction) else (type(result).__name__, str(result))


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    import soundfile as sf

    root = tmp_path_factory.mktemp("dask-clips")
    files = []
    for i in range(6):
        path = root / f"clip{i}.wav"
        y = sine(220.0 * (1 + i), seconds=2.0) if i % 2 else white_noise(seconds=2.0, seed=i) * 0.5
        sf.write(path, y, 22050)
        files.append(path)
    (root / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    return files + [root / "broken.wav", root / "missing.wav"]


def test_results_come_back_in_input_order_and_each_worker_sets_up_once(client, tmp_path):
    items = list(range(40))
    results = list(map_on_dask(_tagged, items, client, on_crash=_crashed, initializer=_remember,
                               initargs=("run-a", str(tmp_path)), batch_size=3))
    assert [item for item, _ in results] == items
    assert [r[0] for _, r in results] == [i * i for i in items]
    assert {r[1] for _, r in results} == {"run-a"}
    pids = {r[2] for _, r in results}
    inits = list(tmp_path.glob("init-*-run-a"))
    assert len(inits) == 2 and {int(p.name.split("-")[1]) for p in inits} >= pids


def test_a_second_run_on_the_same_workers_gets_its_own_state(client, tmp_path):
    first = [r[1] for _, r in map_on_dask(_tagged, range(8), client, on_crash=_crashed,
                                          initializer=_remember, initargs=("one", str(tmp_path)))]
    second = [r[1] for _, r in map_on_dask(_tagged, range(8), client, on_crash=_crashed,
                                           initializer=_remember, initargs=("two", str(tmp_path)))]
    assert set(first) == {"one"} and set(second) == {"two"}


def test_a_worker_killed_mid_batch_costs_only_its_files(client, tmp_path):
    items = list(range(20))
    results = list(map_on_dask(_die_once_on, items, client, on_crash=_crashed, initializer=_remember,
                               initargs=("killer", str(tmp_path)), batch_size=4))
    assert [item for item, _ in results] == items  # none lost, none twice
    assert (tmp_path / "died-on-5").exists()  # item 5 did kill a worker, and was retried
    expected = [i * 10 for i in items]
    expected[13] = "crashed on 13"  # killed its worker in its batch and again alone
    assert [r for _, r in results] == expected


class _Lost(Exception):
    """Stands for distributed.KilledWorker."""


class _FakeFuture:
    """A finished task; ``lost``: its worker died before the result was fetched, so ``result()`` raises."""

    def __init__(self, values: list[int], lost: bool) -> None:
        self.values, self.lost, self.status, self.cancelled = values, lost, "finished", False

    def exception(self):
        return None

    def result(self):
        if self.lost:
            raise _Lost("the worker holding the result died")
        return self.values

    def cancel(self) -> None:
        self.cancelled = True


def test_a_result_lost_with_its_worker_after_the_task_finished_is_retried_not_raised():
    """The race CI met once: a batch finished, then its worker died (killed by another batch) before the result
    came back, and ``result()`` raised KilledWorker; the batch's items are retried like those of a killed batch."""
    from genrekit.distributed.mapping import _DaskRun

    submitted: list[list[int]] = []
    futures: list[_FakeFuture] = []

    class Client:
        def submit(self, _run_batch, _name, fn, items, pure):
            submitted.append(list(items))
            futures.append(_FakeFuture([fn(i) for i in items], lost=len(submitted) == 1))
            return futures[-1]

    class Completed:  # as_completed, in submission order
        def __init__(self) -> None:
            self.queue: list[_FakeFuture] = []

        def add(self, future) -> None:
            self.queue.append(future)

        def __next__(self):
            return self.queue.pop(0)

    run = _DaskRun(Client(), "run", lambda i: i * 10, list(range(6)), size=2, window=100, in_flight=2)
    run.completed = Completed()
    results = list(run.results(on_crash=lambda i: f"crashed on {i}", killed=_Lost))
    assert results == [(i, i * 10) for i in range(6)]  # nothing lost, nothing called a crash
    assert submitted[0] == [0, 1] and [0] in submitted and [1] in submitted  # the lost batch, retried alone
    assert futures[0].cancelled  # and the scheduler's own recomputation of it called off


def test_classify_files_on_dask_equals_the_local_run(client, clips, tiny_model):
    local = [(p, outcome(r)) for p, r in classify_files(clips, tiny_model, jobs=1, coverage="full")]
    remote = [(p, outcome(r)) for p, r in classify_files(clips, tiny_model, client=client, coverage="full")]
    assert remote[:7] == local[:7]  # six verdicts and the broken file's error, exactly
    assert all(isinstance(r, dict) for _, r in remote[:6])
    (path, (kind, message)), (_, (_, local_message)) = remote[7], local[7]
    assert kind == AudioNotFoundError.__name__  # and a missing file says which worker looked for it
    assert message.startswith(local_message.rstrip(")")) and "on Dask worker tcp://" in message


def test_a_file_a_worker_cannot_see_names_the_worker(client, clips, tiny_model, tmp_path):
    mapped = PathMap(str(clips[0].parent), str(tmp_path / "not-mounted"))
    results = dict(classify_files(clips[:2], tiny_model, client=client, path_map=mapped))
    error = results[clips[0]]
    assert isinstance(error, AudioNotFoundError)
    assert error.path == str(clips[0]) and "on Dask worker tcp://" in str(error) and "not-mounted" in str(error)
    client.wait_for_workers(2, timeout=60)  # a worker killed by an earlier test may still be restarting
    missing = missing_on_workers(client, [str(clips[0]), str(tmp_path / "nowhere.wav")])
    assert len(missing) == 2 and all(paths == [str(tmp_path / "nowhere.wav")] for paths in missing.values())


def test_a_path_map_lets_workers_read_under_another_prefix(client, clips, tiny_model, tmp_path):
    alias = tmp_path / "alias"
    alias.symlink_to(clips[0].parent)
    client_side = [alias / p.name for p in clips[:3]]
    mapped = PathMap(str(alias), str(clips[0].parent))
    remote = list(classify_files(client_side, tiny_model, client=client, path_map=mapped))
    local = list(classify_files(clips[:3], tiny_model))
    assert [p for p, _ in remote] == client_side
    assert [r.path for _, r in remote] == [str(p) for p in client_side]
    assert [r.probabilities for _, r in remote] == [r.probabilities for _, r in local]


def test_feature_tables_on_dask_equal_the_local_table(client, clips, tmp_path):
    records = load_files(clips)
    feature_set = get_feature_set("seed")
    local = compute_features(records, feature_set, use_cache=False)
    remote = compute_features(records, feature_set, client=client, cache_dir=tmp_path / "cache")
    assert remote.table.equals(local.table)
    assert [(f.path, f.error) for f in remote.failures] == [(f.path, f.error) for f in local.failures]
    again = compute_features(records, feature_set, client=client, cache_dir=tmp_path / "cache")
    assert again.cached == remote.computed and again.table.equals(local.table)


def test_a_worker_death_in_classify_files_is_a_worker_died_error(client, clips, tiny_model, tmp_path):
    from test_batch import Crashy  # noqa: F401  (the killer classifier of the local tests)
    from genrekit.predict import load_model

    crash = tmp_path / "crash.wav"
    crash.write_bytes(clips[0].read_bytes())
    model = load_model(tiny_model)
    crashy = Crashy(model.bundle, model.feature_set)
    results = list(classify_files([clips[1], crash, clips[3]], crashy, client=client))
    assert isinstance(results[1][1], WorkerDiedError)
    assert isinstance(results[0][1], Prediction) and isinstance(results[2][1], Prediction)


@pytest.mark.parametrize("text, expected", [
    ("local", ("local", None)), ("local:3", ("local", 3)), ("tcp://10.0.0.5:8786", ("tcp://10.0.0.5:8786", None)),
])
def test_targets_parse(text, expected):
    assert parse_target(text) == expected


@pytest.mark.parametrize("text", ["local:0", "local:x", "  "])
def test_bad_targets_are_config_errors(text):
    with pytest.raises(ConfigError):
        parse_target(text)


def test_without_dask_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ConfigError, match=r"genrekit\[dask\]"):
        with connect("local:1"):
            pass


@pytest.mark.parametrize("path, expected", [
    ("/client/music/a/b.mp3", "/mnt/music/a/b.mp3"),
    ("/client/musical/b.mp3", "/client/musical/b.mp3"),
    ("/client/music", "/mnt/music"),
])
def test_path_maps_replace_only_whole_leading_folders(path, expected):
    assert PathMap.parse("/client/music=/mnt/music").to_worker(path) == expected


def test_a_path_map_needs_both_sides():
    with pytest.raises(ConfigError):
        PathMap.parse("/only-one-side")


# --------------------------------------------------------------------------- scan on Dask

def _scan_rows(db) -> list[dict]:
    return [{k: v for k, v in vars(r).items() if k not in ("classified_at", "scanned_at")} for r in db.rows()]


@pytest.fixture(scope="module")
def small_library(tmp_path_factory) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent / "library"))
    from libsynth import make_library

    root = tmp_path_factory.mktemp("dask-library")
    make_library(root, 24, broken=2)
    return root


def test_a_scan_on_dask_equals_the_local_scan_and_a_resumed_one_too(client, small_library, tiny_model, tmp_path):
    from genrekit.library.db import LibraryDB
    from genrekit.library.scan import scan_library

    with LibraryDB(tmp_path / "local.sqlite") as db:
        local = scan_library([small_library], db, tiny_model)
        local_rows = _scan_rows(db)
    with LibraryDB(tmp_path / "dask.sqlite") as db:
        remote = scan_library([small_library], db, tiny_model, client=client)
        assert _scan_rows(db) == local_rows
    assert remote.counts == local.counts and remote.failures == local.failures

    def stop_halfway(phase: str, done: int, total: int) -> None:
        if phase == "classifying" and done >= 10:
            raise KeyboardInterrupt

    with LibraryDB(tmp_path / "resumed.sqlite") as db:
        with pytest.raises(KeyboardInterrupt):
            scan_library([small_library], db, tiny_model, client=client, progress=stop_halfway)
        assert 10 <= len(list(db.rows())) < 24
        resumed = scan_library([small_library], db, tiny_model, client=client)
        assert resumed.counts["classified"] + resumed.counts["failed"] < 24 - 9
        assert _scan_rows(db) == local_rows
