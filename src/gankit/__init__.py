"""gankit: the classic GANs, trained, evaluated and used from one command."""

import importlib
import sys
import types

__version__ = "0.1.0"

__all__ = ["__version__", "export", "load", "resume", "train"]

# The Python API, imported on first use so that `import gankit.cli` (and `gankit --help`) does not load torch.
_API = {"train": "api", "resume": "api", "load": "modelio", "export": "modelio"}


class _Package(types.ModuleType):
    """`gankit.train` is the function even though a sub-package has the same name: the names of _API are looked up
    here first (data descriptors win over the module's own attributes, which is where imports put sub-packages)."""


def _api(name: str) -> property:
    def get(module):
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)

    def put(module, value):  # the import system records the sub-package of the same name: `from gankit.train import X`
        # still works; the attribute `gankit.train` is the function
        pass

    return property(get, put)


for _name in _API:
    setattr(_Package, _name, _api(_name))
sys.modules[__name__].__class__ = _Package
