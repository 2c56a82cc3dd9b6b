"""The Model that gankit.load hands out: the system's attributes, one method per task, module methods that return it."""

import copy

import torch

from gankit.models import DataInfo
from gankit.models.cgan import CGAN, CGANConfig
from gankit.tasks import system_of
from gankit.tasks.sample import LabelSampler
from gankit.trained import Model


def test_the_wrapper_forwards_and_stays_a_wrapper():
    cgan = CGAN(CGANConfig(base_channels=4), DataInfo("d", 16, 1, num_classes=10))
    model = Model(cgan).eval()
    assert isinstance(model, Model) and model.to("cpu") is model and model.cpu() is model
    assert model.cfg is cgan.cfg and model.G is cgan.G and system_of(model) is cgan and system_of(cgan) is cgan
    assert isinstance(system_of(model), LabelSampler)
    assert torch.equal(model.sample(3, seed=0, label=4), Model(cgan).sample(3, seed=0, label=4))
    assert copy.copy(model).system is cgan  # no recursion before __init__ has set `system`
    model.trained_steps = 7
    assert cgan.trained_steps == 7
