"""Benchmarks: the platform under load, every figure beside a bare FastAPI endpoint of the same run."""
