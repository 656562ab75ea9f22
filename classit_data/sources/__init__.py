"""Readers that turn the corpora users bring into plain records, one module per source format."""
