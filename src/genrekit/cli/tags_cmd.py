"""``genrekit tags``: musicnn's tags (genres, moods, eras, instruments) for audio files."""

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.choices import TagModel
from genrekit.cli.output import (
    audio_files_or_fail,
    console,
    error_console,
    exit_code_for,
    plain,
    report_failure,
    usage_error,
)


def tags_record(path: Path, out: Any, top_k: int) -> dict[str, Any]:
    """The JSON object of one file: top tags, every tag's score, and the per-patch timeline."""
    # deferred: keeps CLI start-up fast
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
    paths: Annotated[
        list[Path], typer.Argument(help="Audio files or folders (searched recursively).", metavar="PATH")
    ],
    model: Annotated[
        TagModel,
        typer.Option(
            "--model", "-m",
            help="MSD_musicnn (Last.fm tags: genres, moods, eras, instruments), MTT_musicnn (MagnaTagATune), "
                 "or musicnn's vgg baselines on the same tags, MSD_vgg and MTT_vgg.",
        ),
    ] = TagModel.MSD_musicnn,
    top_k: Annotated[
        int,
        typer.Option("--top-k", "-k", min=1, max=50,
                     help="How many tags to show per file (and per patch in the JSON timeline)."),
    ] = 5,
    hop: Annotated[
        Optional[float],
        typer.Option("--hop", min=0.1, help="Seconds between 3-second patches; default 3 (no overlap)."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON object per file per line: top tags, all scores, and the per-patch timeline."),
    ] = False,
    timeline: Annotated[bool, typer.Option("--timeline", help="Also print each patch's top tags (table output).")] = False,
    data_dir: Annotated[
        Optional[Path],
        typer.Option("--data-dir",
                     help="Folder of the networks (default: `genrekit models install musicnn`'s folder if it holds "
                          "them, else those shipped with genrekit)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but the results.")] = False,
) -> None:
    """Tag each file with musicnn (Pons & Serra 2019), pretrained on the Million Song Dataset or MagnaTagATune.

    The networks ship with genrekit: nothing to install. Scores are sigmoid
    outputs (0-1, tags are not exclusive), averaged over 3-second patches. A file that cannot be read gives an error (a JSON line
    with "error" under --json); the others are still tagged, and the exit code is 1.
    """
    # deferred: keeps CLI start-up fast
    from genrekit.audio import load_audio
    from genrekit.errors import GenrekitError
    from genrekit.musicnn.frontend import SAMPLE_RATE
    from genrekit.musicnn.model import load
    from genrekit.errors import as_input_error

    try:
        net = load(model.value, data_dir)
    except GenrekitError as error:
        raise usage_error(str(error)) from None
    files = audio_files_or_fail(paths)

    failures = 0
    for path in files:
        try:
            out = net.analyze(load_audio(path, SAMPLE_RATE), SAMPLE_RATE, hop=hop)
        except Exception as error:  # the file boundary: one input never costs the others
            failures += 1
            report_failure(path, as_input_error(path, error), as_json)
            continue
        if as_json:
            print(json.dumps(tags_record(path, out, top_k)), flush=True)
        else:
            _print_file(path, out, top_k, timeline)
    if not quiet and not as_json and failures:
        error_console.print(f"{failures} of {len(files)} files failed")
    raise typer.Exit(exit_code_for(failures))


def _print_file(path: Path, out: Any, top_k: int, timeline: bool) -> None:
    """A table of the file's top tags, then (``timeline``) each patch's; names and tags are plain text."""
    # deferred: keeps CLI start-up fast
    from rich.table import Table

    from genrekit.musicnn.labels import category

    table = Table(title=plain(f"{path.name}  ({out.model}, {len(out.starts)} patches)"), title_justify="left")
    table.add_column("tag", style="bold")
    table.add_column("score", justify="right")
    table.add_column("kind")
    for tag, score in out.top_tags(top_k):
        table.add_row(plain(tag), f"{score:.3f}", plain(category(out.model, tag)))
    console.print(table)
    if timeline:
        for start, row in zip(out.starts, out.taggram):
            best = ", ".join(f"{out.labels[i]} {row[i]:.2f}" for i in row.argsort()[::-1][:top_k])
            console.print(plain(f"  {start:7.2f}s  {best}"))
