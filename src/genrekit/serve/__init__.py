"""``genrekit serve``: the HTTP API and web page over the same prediction path as the CLI.

:func:`genrekit.serve.app.create_app` builds the FastAPI app. The parts, each
with one job: :mod:`~genrekit.serve.shelf` (the models on offer),
:mod:`~genrekit.serve.benchmark` (scoring them on a held-back collection),
:mod:`~genrekit.serve.uploads` (bounded spooling of uploaded files),
:mod:`~genrekit.serve.work` (the bounded worker queue),
:mod:`~genrekit.serve.analysis` and :mod:`~genrekit.serve.explain` (what a
request computes), :mod:`~genrekit.serve.errors` (typed errors -> JSON and
status codes), :mod:`~genrekit.serve.metrics` (Prometheus text) and
:mod:`~genrekit.serve.api` (the routes).
"""
