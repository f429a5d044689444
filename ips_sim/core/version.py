"""The package version, in the lowest layer so every layer may stamp it on what it writes."""

__version__ = "0.1.0"
