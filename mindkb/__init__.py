"""MIND-KB: a knowledge base of shopping intentions distilled from co-buy records."""

__version__ = "0.1.0"
