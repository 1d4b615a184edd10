"""ingest stage of MIND-KB."""
