"""One reader per Switchboard format, each a generator of utterances; ``detect`` picks one per file."""
