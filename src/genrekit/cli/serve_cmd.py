"""``genrekit serve``: the HTTP API and web page on one host and port (uvicorn)."""

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.output import console, plain, usage_error


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 8000,
    model: Annotated[
        Optional[list[Path]], typer.Option("--model", "-m", help="A .genre model to offer (repeatable; the first is "
                                                                 "the default). Default: the bundled model.")
    ] = None,
    models_dir: Annotated[
        Optional[Path], typer.Option("--models-dir", help="Also offer every *.genre in this folder; uploaded models "
                                                          "are stored here (else in a temporary folder).")
    ] = None,
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", min=0.001, help="Largest upload, MB.")] = 50,
    max_duration_s: Annotated[
        float, typer.Option("--max-duration-s", min=1, help="Seconds of each recording analysed (from the start).")
    ] = 600,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Analyses run at once (threads).")] = 1,
    queue: Annotated[
        int, typer.Option("--queue", min=0, help="Requests that may wait for a worker; beyond, 503 busy at once.")
    ] = 8,
    timeout_s: Annotated[
        float, typer.Option("--timeout-s", min=0.1, help="Longest a request may wait and run; beyond, 504.")
    ] = 300,
    allow_model_upload: Annotated[
        bool, typer.Option("--allow-model-upload", help="Accept .genre uploads at POST /v1/models (needs --token).")
    ] = False,
    token: Annotated[
        Optional[str], typer.Option("--token", envvar="GENREKIT_SERVE_TOKEN", show_envvar=True,
                                    help="Bearer token a model upload must carry.")
    ] = None,
    benchmark: Annotated[
        Optional[Path], typer.Option("--benchmark", help="A labelled collection (never served) every model is scored "
                                                         "on once, in the background, beside its claimed score.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Log only warnings and errors.")] = False,
) -> None:
    """Serve the API (/v1, docs at /docs) and the web page; models are loaded once, at start.

    Exit codes: 0 stopped (Ctrl-C), 1 the server failed, 2 usage errors
    (a bad setting or a model file that does not load).
    """
    if allow_model_upload and not token:
        raise usage_error("--allow-model-upload needs --token T (or GENREKIT_SERVE_TOKEN): uploads are never open")
    # deferred: fastapi, uvicorn and the models keep `genrekit --help` fast
    import uvicorn

    from genrekit.errors import GenrekitError
    from genrekit.serve.app import create_app

    try:
        with console.status("loading models", spinner="dots") if not quiet else nullcontext():
            server = create_app(models=model, models_dir=models_dir, max_upload_mb=max_upload_mb,
                                max_duration_s=max_duration_s, workers=workers, queue=queue, timeout_s=timeout_s,
                                allow_model_upload=allow_model_upload, token=token, benchmark=benchmark)
    except GenrekitError as error:
        raise usage_error(str(error)) from None
    if not quiet:
        shelf = server.state.genrekit.shelf
        console.print(plain(f"serving {len(shelf)} model(s) at http://{host}:{port}/ (API docs at /docs)"))
    uvicorn.run(server, host=host, port=port, log_level="warning" if quiet else "info")

