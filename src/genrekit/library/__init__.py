"""A music library: a SQLite database of every file's genre (``scan``) and reversible genre tags (``tag``).

:mod:`~genrekit.library.db` holds the schema; :mod:`~genrekit.library.scan`
fills it incrementally; :mod:`~genrekit.library.export` writes it out;
:mod:`~genrekit.library.tagfiles` reads and writes genre tags per format;
:mod:`~genrekit.library.tagging` plans, writes, checks, journals and undoes them.
"""
