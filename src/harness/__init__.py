"""The stability suite: measures how often a ptychography training recipe crashes."""

__version__ = "0.1.0"
