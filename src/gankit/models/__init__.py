"""One file per system. Importing this package registers them all."""

from . import dcgan  # noqa: F401
from .base import Batch, DataInfo, GANModel, frozen

__all__ = ["Batch", "DataInfo", "GANModel", "frozen"]
