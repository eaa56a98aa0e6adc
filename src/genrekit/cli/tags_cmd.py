"""``genrekit tags``: musicnn's tags (genres, moods, eras, instruments) for audio files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from genrekit.cli import app
from genrekit.cli.output import audio_files_or_fail, console, error_console, exit_code_for, fail, report_failure


def tags_record(path: Path, out, top_k: int) -> dict:
    """The JSON object of one file: top tags, every tag's score, and the per-patch timeline."""
    from genrekit.musicnn.labels import category

    scores = out.tag_scores
    end = out.starts + out.patch_seconds
    return {
        "path": str(path),
        "model": out.model,
        "tags": [
            {"tag": tag, "score": round(score, 5), "category": category(out.model, tag)} for tag, score in out.top_tags(top_k)
        ],
        "scores": {label: round(float(s), 5) for label, s in zip(out.labels, scores)},
        "padded": out.padded,
        "timeline": [
            {
                "start": round(float(s), 3),
                "end": round(float(e), 3),
                "top": [{"tag": out.labels[i], "score": round(float(row[i]), 5)} for i in row.argsort()[::-1][:top_k]],
                "scores": [round(float(v), 5) for v in row],
            }
            for s, e, row in zip(out.starts, end, out.taggram)
        ],
    }


@app.command("tags")
def tags(
    paths: list[Path] = typer.Argument(..., help="Audio files or folders (searched recursively)."),
    model: str = typer.Option(
        "MSD_musicnn",
        "--model",
        "-m",
        help="MSD_musicnn (Last.fm tags: genres, moods, eras, instruments) or MTT_musicnn (MagnaTagATune).",
    ),
    top_k: int = typer.Option(
        5, "--top-k", "-k", min=1, max=50, help="How many tags to show per file (and per patch in the JSON timeline)."
    ),
    hop: Optional[float] = typer.Option(None, "--hop", min=0.1, help="Seconds between 3-second patches; default 3 (no overlap)."),
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object per file per line: top tags, all scores, and the per-patch timeline."
    ),
    timeline: bool = typer.Option(False, "--timeline", help="Also print each patch's top tags (table output)."),
    data_dir: Optional[Path] = typer.Option(
        None, "--data-dir", help="Folder of the converted weights (default: where `genrekit models install musicnn` puts them)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but the results."),
) -> None:
    """Tag each file with musicnn (Pons & Serra 2019), pretrained on the Million Song Dataset or MagnaTagATune.

    Scores are sigmoid outputs (0-1, tags are not exclusive), averaged over
    3-second patches. A file that cannot be read gives an error (a JSON line
    with "error" under --json); the others are still tagged, and the exit code is 1.
    """
    from genrekit.audio import load_audio
    from genrekit.errors import GenrekitError
    from genrekit.musicnn.frontend import SAMPLE_RATE
    from genrekit.musicnn.model import load

    try:
        net = load(model, data_dir)
    except (GenrekitError, ValueError) as error:
        raise fail(str(error)) from None
    files = audio_files_or_fail(paths)

    failures = 0
    for path in files:
        try:
            out = net.analyze(load_audio(path, SAMPLE_RATE), SAMPLE_RATE, hop=hop)
        except GenrekitError as error:
            failures += 1
            report_failure(path, error, as_json)
            continue
        if as_json:
            print(json.dumps(tags_record(path, out, top_k)), flush=True)
        else:
            _print_file(path, out, top_k, timeline)
    if not quiet and not as_json and failures:
        error_console.print(f"{failures} of {len(files)} files failed")
    raise typer.Exit(exit_code_for(failures))


def _print_file(path: Path, out, top_k: int, timeline: bool) -> None:
    from rich.table import Table

    from genrekit.musicnn.labels import category

    table = Table(title=f"{path.name}  ({out.model}, {len(out.starts)} patches)", title_justify="left")
    table.add_column("tag", style="bold")
    table.add_column("score", justify="right")
    table.add_column("kind")
    for tag, score in out.top_tags(top_k):
        table.add_row(tag, f"{score:.3f}", category(out.model, tag))
    console.print(table)
    if timeline:
        for start, row in zip(out.starts, out.taggram):
            best = ", ".join(f"{out.labels[i]} {row[i]:.2f}" for i in row.argsort()[::-1][:top_k])
            console.print(f"  {start:7.2f}s  {best}")
