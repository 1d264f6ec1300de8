"""Benchmarks that ship with the product: matching quality (BEIR-style sets) and speed at scale."""
