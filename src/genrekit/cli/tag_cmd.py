"""``genrekit tag``: write genres into files' tags (a dry run unless --write), reversibly; --undo takes them back."""

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.output import console, error_console, exit_code_for, plain, shown, usage_error
from genrekit.cli.progress import progress_bar


@app.command("tag")
def tag(
    paths: Annotated[
        Optional[list[Path]],
        typer.Argument(help="Music folders or files (searched recursively); with --undo, only writes under them.",
                       metavar="LIBRARY", show_default=False),
    ] = None,
    db_path: Annotated[
        Optional[Path], typer.Option("--db", help="The library database: genres come from it (files not in it are "
                                     "scanned first) and writes are journaled in it. Without it files are classified "
                                     "directly and writes journaled in $GENREKIT_DATA/tag-journal.sqlite.")
    ] = None,
    model: Annotated[
        Optional[Path], typer.Option("--model", "-m", help="A .genre model file; default: the bundled model.")
    ] = None,
    write: Annotated[bool, typer.Option("--write", help="Write the tags (default: only show what would change).")] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="Write the N most probable genres as one value.")] = 1,
    min_confidence: Annotated[
        float, typer.Option("--min-confidence", min=0.0, max=1.0, help="Leave files whose top genre is less certain.")
    ] = 0.0,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace genres a person entered (genrekit's own are always replaced).")
    ] = False,
    separator: Annotated[str, typer.Option("--separator", help="Joins the genres of --top N.")] = "; ",
    undo: Annotated[bool, typer.Option("--undo", help="Restore every file genrekit tagged, byte for byte.")] = False,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Worker processes for classifying (1: this process).")
    ] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but failures.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file per line.")] = False,
) -> None:
    """Tag each file with its genre: shows "old -> new" per file, and writes only with --write.

    A genre a person entered is kept unless --overwrite. Each write goes to a
    copy, is checked (same audio samples, tags read back) and journaled
    before it replaces the file; `genrekit tag --undo` restores the files
    exactly. Exit code 1 if any file failed.
    """
    # deferred: keeps CLI start-up fast
    from genrekit.errors import GenrekitError
    from genrekit.library.db import LibraryDB
    from genrekit.library.tagging import default_journal

    try:
        if undo:
            journal = db_path or default_journal()
            with LibraryDB(journal, create=False) as db:
                failures = _undo(db, paths or [], as_json, quiet)
        else:
            if not paths:
                raise usage_error("name the LIBRARY folders or files to tag (or --undo)")
            from genrekit.library.tagging import TagOptions

            options = TagOptions(top=top, separator=separator, min_confidence=min_confidence, overwrite=overwrite)
            # a dry run without --db touches no database; a write without one journals in the default place
            where = db_path or (default_journal() if write else None)
            with LibraryDB(where) if where else nullcontext() as db:
                failures = _tag(paths, db, db_path is not None, model, jobs, options, write, as_json, quiet)
    except GenrekitError as error:
        raise usage_error(str(error)) from None
    raise typer.Exit(exit_code_for(failures))


def _classified(paths: list[Path], db: Any, use_db: bool, model: Optional[Path], jobs: int,
                quiet: bool) -> dict[Path, Any]:
    """Each file's classification (or the error it gave): from the database, scanned first, or classified now."""
    import os

    from genrekit.batch import classify_files
    from genrekit.errors import GenrekitError
    from genrekit.library.scan import model_sha256, scan_library
    from genrekit.library.tagging import Classified
    from genrekit.predict import load_model

    classifier = load_model(model)
    found: dict[Path, Any] = {}
    bar = progress_bar(quiet)
    with bar:
        task = bar.add_task("classifying", total=None)

        def progress(phase: str, done: int, total: int) -> None:
            bar.update(task, description=phase, completed=done, total=total)

        if use_db:
            scan_library(paths, db, classifier, jobs=jobs, progress=progress)
            from genrekit.audio import find_audio_files

            for file in find_audio_files(paths):
                row = db.get(os.path.abspath(file))
                if row is None or row.error is not None:
                    found[file] = GenrekitError(row.error if row else f"{file}: not in the database")
                else:
                    found[file] = Classified(row.probabilities_dict(), row.model)
        else:
            from genrekit.audio import find_audio_files

            files = find_audio_files(paths)
            sha = model_sha256(classifier)
            bar.update(task, total=len(files))
            for file, result in classify_files(files, classifier, jobs=jobs):
                found[file] = result if isinstance(result, GenrekitError) else Classified(
                    dict(sorted(result.probabilities.items(), key=lambda item: -item[1])), sha)
                bar.advance(task)
    return found


def _tag(paths: list[Path], db: Any, use_db: bool, model: Optional[Path], jobs: int, options: Any, write: bool,
         as_json: bool, quiet: bool) -> int:
    from genrekit.errors import GenrekitError
    from genrekit.library.tagfiles import read_tags
    from genrekit.library.tagging import failed_plan, plan_tag, write_planned

    classified = _classified(paths, db, use_db, model, jobs, quiet or as_json)
    if not classified:
        raise usage_error("no audio files found")
    counts: dict[str, int] = {}
    bar = progress_bar(quiet or as_json or not write)
    with bar:
        task = bar.add_task("tagging", total=len(classified))
        for path, result in classified.items():
            if isinstance(result, GenrekitError):
                plan = failed_plan(path, result)
            else:
                try:
                    plan = plan_tag(path, read_tags(path), result, options)
                except GenrekitError as error:
                    plan = failed_plan(path, error)
            if write and plan.action == "write":
                plan = write_planned(plan, db)
            counts[plan.action] = counts.get(plan.action, 0) + 1
            _print_plan(plan, as_json, quiet)
            bar.advance(task)
    if not quiet and not as_json:
        done = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
        hint = "" if write or not counts.get("write") else " (a dry run: --write writes them)"
        error_console.print(plain(f"{sum(counts.values())} files: {done}{hint}"))
    return counts.get("failed", 0)


def _print_plan(plan: Any, as_json: bool, quiet: bool) -> None:
    if as_json:
        print(json.dumps(plan.to_dict()), flush=True)
        return
    if plan.action == "failed":
        error_console.print("[red]failed:[/red] ", plain(plan.reason), sep="", highlight=False)
        return
    if quiet:
        return
    old = "; ".join(plan.old) if plan.old else "(none)"
    line = f"{plan.action:<9} {shown(plan.path)}: {shown(old)} -> {shown(plan.new)}"
    if plan.reason:
        line += f" ({shown(plan.reason)})"
    console.print(plain(line), highlight=False)


def _undo(db: Any, paths: list[Path], as_json: bool, quiet: bool) -> int:
    from genrekit.library.tagging import undo_writes

    results = undo_writes(db, paths)
    failed = 0
    for result in results:
        if as_json:
            print(json.dumps(result.to_dict()), flush=True)
        elif result.action == "failed":
            error_console.print("[red]failed:[/red] ", plain(result.reason), sep="", highlight=False)
        elif not quiet:
            console.print(plain(f"{result.action:<9} {shown(result.path)}"), highlight=False)
        failed += result.action == "failed"
    if not quiet and not as_json:
        error_console.print(plain(f"{len(results) - failed} of {len(results)} journaled writes undone"))
    return failed
