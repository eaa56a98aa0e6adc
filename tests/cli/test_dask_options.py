"""``--dask`` on ``predict`` and ``features``: the output of a LocalCluster run equals the local run's."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from genrekit.cli import app
from synth import mixed_folder

pytest.importorskip("distributed", reason="dask[distributed] is not installed (pip install 'genrekit[dask]')")
runner = CliRunner()


@pytest.fixture
def folder(write_audio, tmp_path: Path) -> Path:
    """The -j tests' folder: six good clips (wav, flac) and a broken mp3."""
    return mixed_folder(write_audio, tmp_path)


def test_predict_on_a_local_cluster_prints_what_a_local_run_prints(cli_model: Path, folder: Path):
    local = runner.invoke(app, ["predict", str(folder), "-m", str(cli_model), "--json"])
    remote = runner.invoke(app, ["predict", str(folder), "-m", str(cli_model), "--json", "--dask", "local:2"])
    assert local.exit_code == remote.exit_code == 1
    assert remote.stdout == local.stdout
    lines = [json.loads(line) for line in remote.stdout.splitlines()]
    assert len(lines) == 7 and sum("error" in line for line in lines) == 1


def test_features_on_a_local_cluster_write_the_local_table(folder: Path, tmp_path: Path):
    base = ["features", str(folder), "--set", "seed", "--no-cache", "-q"]
    local = runner.invoke(app, base + ["-o", str(tmp_path / "local.parquet")])
    remote = runner.invoke(app, base + ["-o", str(tmp_path / "remote.parquet"), "--dask", "local:2"])
    assert local.exit_code == remote.exit_code == 1  # the broken mp3
    assert pq.read_table(tmp_path / "remote.parquet").equals(pq.read_table(tmp_path / "local.parquet"))


@pytest.mark.parametrize("args, message", [
    (["--dask-path-map", "/a=/b"], "--dask-path-map needs --dask"),
    (["--dask", "local:2", "-j", "2"], "alternatives"),
    (["--dask", "local:zero"], "local:N"),
    (["--dask", "local:1", "--dask-path-map", "nothing"], "CLIENT_PREFIX=WORKER_PREFIX"),
])
def test_bad_dask_options_are_usage_errors(cli_model: Path, folder: Path, args: list[str], message: str):
    result = runner.invoke(app, ["predict", str(folder), "-m", str(cli_model), *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_scan_on_a_local_cluster_fills_the_database_a_local_scan_fills(cli_model: Path, folder: Path, tmp_path: Path):
    from genrekit.library.db import LibraryDB

    def rows(db_path: Path) -> list[dict]:
        with LibraryDB(db_path) as db:
            return [{k: v for k, v in vars(r).items() if k not in ("classified_at", "scanned_at")} for r in db.rows()]

    local = runner.invoke(app, ["scan", str(folder), "--db", str(tmp_path / "local.sqlite"), "-m", str(cli_model), "-q"])
    remote = runner.invoke(app, ["scan", str(folder), "--db", str(tmp_path / "dask.sqlite"), "-m", str(cli_model), "-q",
                                 "--dask", "local:2"])
    assert local.exit_code == remote.exit_code == 1  # the broken mp3
    assert rows(tmp_path / "dask.sqlite") == rows(tmp_path / "local.sqlite")
    assert len(rows(tmp_path / "local.sqlite")) == 7
