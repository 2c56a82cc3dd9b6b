"""Engineering harnesses: speed, fault injection, the README quickstart (`python -m benchmarks.engineering.NAME`)."""
