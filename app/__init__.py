"""Tracepane: the desktop app and the `tracepane` command line."""

__version__ = "0.1.0"
