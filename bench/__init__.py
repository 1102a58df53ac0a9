"""Benchmarks run by `make bench`; each compares pilots with a baseline measured in the same run."""
