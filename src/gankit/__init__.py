"""gankit: the classic GANs, trained, evaluated and used from one command."""

__version__ = "0.1.0"

from .api import export, load, resume, train  # noqa: E402

__all__ = ["__version__", "export", "load", "resume", "train"]
