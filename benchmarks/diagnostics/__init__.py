"""Diagnostics: why a paper reproduction's run scored as it did (`python -m benchmarks.diagnostics.NAME`)."""
