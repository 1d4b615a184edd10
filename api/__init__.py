"""api stage of MIND-KB."""
