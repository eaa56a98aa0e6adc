"""The ``genrekit`` command: argument handling and printing only.

The Typer app lives in :mod:`genrekit.cli.app`; each command lives in its own
``*_cmd`` module, which registers itself on that app when imported, and
calls library functions. Importing this package imports every command
module, so ``genrekit.cli.app`` (re-exported here as ``app``) has all its
commands. Heavy imports (numpy, torch, librosa...) happen inside the
commands, so start-up and ``--help`` stay fast.
"""

from __future__ import annotations

from genrekit.cli.app import app
from genrekit.cli import (  # noqa: F401  (importing a command module registers its command)
    demo_cmd,
    doctor_cmd,
    evaluate_cmd,
    features_cmd,
    models_cmd,
    predict_cmd,
    scan_cmd,
    serve_cmd,
    tag_cmd,
    tags_cmd,
    train_cmd,
)


def main() -> None:
    """Entry point of the ``genrekit`` console script."""
    app()


__all__ = ["app", "main"]
