"""classit-data: make, check and publish the CLASS-IT instruction dataset."""

__version__ = "0.1.0"
