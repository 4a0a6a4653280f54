"""Developer tools that are not part of the shipped site: the starter model's trainer and
evaluation, and the tiny test pipeline builder used by the tests and benchmarks."""
