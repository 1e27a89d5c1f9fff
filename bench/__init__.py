"""Benchmarks: accuracy, speed and scale figures, each written to bench/results/<name>.json."""
