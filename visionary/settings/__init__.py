"""Settings package: ``embedded`` (default, one process), ``production`` (env-driven) and ``test``."""
