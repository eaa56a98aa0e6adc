"""Measuring model configurations on a collection's train -> valid split, and tabling what was measured.

- :mod:`~genrekit.comparison.configuration`: what a run trained (everything
  but the seed), as a typed key; how to train it again.
- :mod:`~genrekit.comparison.classic`: every classical model x feature set x
  windowing, trained and scored in one loop.
- :mod:`~genrekit.comparison.runs`: records of single CNN and ensemble
  training runs, and their table (mean and spread over seeds).
- :mod:`~genrekit.comparison.page`: the marked sections of a Markdown page
  those tables are written into.

:mod:`genrekit.selection` chooses among what was measured here.
"""
