"""One reader per Wikipedia format, each a generator of articles; ``detect`` picks one per file."""
