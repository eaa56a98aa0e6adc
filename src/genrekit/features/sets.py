"""Built-in feature sets (filled in by the features work)."""
