"""Paper reproductions, one command each (`python -m benchmarks.NAME`), and the helpers they share (common.py)."""
