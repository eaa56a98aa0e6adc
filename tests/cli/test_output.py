"""``genrekit.cli.output``: errors and failures print text from outside as text, never as rich markup."""

from __future__ import annotations

from types import SimpleNamespace

import typer

from genrekit.cli import output


def test_usage_error_prints_the_message_verbatim_and_exits_2(capsys):
    exit_ = output.usage_error("cannot read /music/[red]odd[/red].wav")
    assert isinstance(exit_, typer.Exit) and exit_.exit_code == output.EXIT_USAGE == 2
    err = capsys.readouterr().err
    assert "error: cannot read /music/[red]odd[/red].wav" in err


def test_failures_and_skips_keep_brackets_in_file_names(capsys):
    output.report_failure("/m/[b]x.wav", ValueError("/m/[b]x.wav: corrupt"), as_json=False)
    output.report_skipped([SimpleNamespace(path="/m/[i]y.wav", message="[i]y.wav: empty")])
    err = capsys.readouterr().err
    assert "failed: /m/[b]x.wav: corrupt" in err
    assert "skipped: /m/[i]y.wav: [i]y.wav: empty" in err


def test_exit_codes():
    assert (output.exit_code_for(0), output.exit_code_for(3)) == (0, 1)
    assert output.EXIT_INTERRUPTED == 130
