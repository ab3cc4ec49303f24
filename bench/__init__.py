"""Benchmarks and evaluation harnesses for polyphrase, run from the repository root and not installed with the package."""
