"""``genrekit features``: placeholder until the feature-table command lands."""
