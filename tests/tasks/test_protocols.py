"""Every registered system implements the protocol of every task it declares, and declares only known tasks."""

import pytest

from gankit.models import DataInfo
from gankit.registry import MODELS
from gankit.tasks import PROTOCOLS, protocol

# The smallest data each kind of system builds on.
INFO = {"translate": DataInfo("p", 64, 3, kind="paired", in_channels=3),
        "cyclegan": DataInfo("u", 64, 3, kind="unpaired", in_channels=3),
        "enhancenet": DataInfo("s", 64, 3, kind="sr", in_channels=3, scale=4),
        "simgan": DataInfo("r", 16, 1, num_classes=10, kind="refine"),
        "stargan": DataInfo("a", 16, 3, num_classes=2, class_names=["a", "b"], attrs=["a", "b"],
                            attr_groups=[[0, 1]]),
        "default": DataInfo("d", 16, 1, num_classes=10, class_names=[str(k) for k in range(10)])}


@pytest.mark.parametrize("name", MODELS.names())
def test_each_system_implements_what_it_declares(name):
    cls = MODELS.get(name)
    assert cls.tasks and set(cls.tasks) <= set(PROTOCOLS)
    info = INFO.get(name) or (INFO["translate"] if "translate" in cls.tasks else INFO["default"])
    model = cls(cls.Config(), info)
    for task in cls.tasks:
        assert isinstance(model, protocol(task)), f"{name} declares {task} but is not a {protocol(task).__name__}"


def test_a_missing_method_is_caught():
    class NoTranslator:
        tasks = ("translate",)

    assert not isinstance(NoTranslator(), protocol("translate"))
