"""generation stage of MIND-KB."""
