"""The one step-based training loop, its hooks, checkpoints and EMA."""
