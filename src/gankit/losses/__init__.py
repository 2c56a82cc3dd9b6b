"""Losses are pure functions of logits (or images), written in generator/discriminator pairs."""
