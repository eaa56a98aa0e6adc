"""``genrekit doctor``: the table, --json, --cache-dir and the exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genrekit import doctor
from genrekit.doctor import Check


def test_doctor_prints_a_table_and_exits_0_on_a_healthy_install(cli) -> None:
    result = cli("doctor")
    assert result.exit_code == 0, result.output
    for name in ("python", "decode wav", "decode mp3", "onnxruntime", "bundled model", "reference features",
                 "cache folder", "extra torch"):
        assert name in result.stdout
    assert "checks passed" in result.stdout.splitlines()[-1]


def test_doctor_json_lists_every_check_and_fails_on_an_unwritable_cache(cli, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cli("doctor", "--json", "--cache-dir", blocker / "cache")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    names = [c["name"] for c in report["checks"]]
    assert names[0] == "python" and len(names) == len(set(names))
    for name in ("libsndfile", "decode wav", "decode m4a", "onnxruntime", "bundled model", "musicnn MSD_musicnn",
                 "reference features", "cache folder", "extra dask"):
        assert name in names
    for check in report["checks"]:
        assert set(check) == {"name", "status", "detail", "data"}
        assert check["status"] in doctor.STATUSES
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert [c["name"] for c in failed] == ["cache folder"]
    assert failed[0]["data"]["path"] == str(blocker / "cache")


@pytest.fixture
def fake_checks(monkeypatch: pytest.MonkeyPatch) -> list:
    """``run_checks`` replaced by one returning the list this fixture gives (filled in by the test)."""
    checks: list[Check] = []
    calls: list = []

    def run_checks(*, cache_dir=None):
        calls.append(cache_dir)
        return list(checks)

    monkeypatch.setattr(doctor, "run_checks", run_checks)
    checks.append(Check("python", "info", "genrekit", {}))
    return [checks, calls]


def test_a_failed_check_gives_exit_code_1(cli, fake_checks) -> None:
    checks, _ = fake_checks
    checks += [Check("thing", "warn", "partly", {}), Check("other", "fail", "broken", {"why": 1})]
    result = cli("doctor")
    assert result.exit_code == 1
    assert "1 of 3 checks failed (1 warning)" in result.stdout
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"ok": False, "checks": [c.to_dict() for c in checks]}


def test_warnings_alone_exit_0(cli, fake_checks) -> None:
    checks, calls = fake_checks
    checks.append(Check("thing", "warn", "partly", {}))
    result = cli("doctor", "--cache-dir", "/some/where")
    assert result.exit_code == 0
    assert "all 2 checks passed (1 warning)" in result.stdout
    assert calls == [Path("/some/where")]
    assert json.loads(cli("doctor", "--json").stdout)["ok"] is True


def test_details_are_printed_as_text_never_markup(cli, fake_checks) -> None:
    checks, _ = fake_checks
    checks.append(Check("[bold]name[/bold]", "fail", "[red]not markup[/red]", {}))
    result = cli("doctor")
    assert "[red]not markup[/red]" in result.stdout
    assert "[bold]name[/bold]" in result.stdout
