import pytest
import torch

from gankit.config import resolve_config
from gankit.errors import GankitError
from gankit.losses.classification import attribute_loss
from gankit.models import DataInfo
from gankit.models.stargan import StarDiscriminator, StarGAN

TWO = DataInfo("t", 16, 3, attrs=["red", "green", "blue", "thick"], attr_groups=[[0, 1, 2]], label_sets=[3, 1])


def make(info=TWO, **model):
    cfg = resolve_config({"model": {"name": "stargan", "base_channels": 8, "d_base_channels": 8, "n_blocks": 1,
                                    **model}})
    return StarGAN(cfg.model, info)


class Recorder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(x)
        return x[:, :3]


def test_labels_are_replicated_over_pixels_with_the_mask():
    model = make()
    assert model.G.net[1].in_channels == 3 + 4 + 2  # image, labels, mask vector
    c, mask = torch.tensor([[0.0, 1, 0, 0]]), torch.tensor([[1.0, 0]])
    G = Recorder()
    model.G_at(torch.zeros(1, 3, 16, 16), model.condition(c, mask), G)
    inp = G.seen[0]
    assert inp.shape == (1, 9, 16, 16)
    assert torch.equal(inp[0, 3:, 5, 7], torch.tensor([0.0, 1, 0, 0, 1, 0]))
    assert (inp[0, 3:] == inp[0, 3:, :1, :1]).all()  # the same vector at every pixel
    one = make(DataInfo("t", 16, 3, attrs=["a", "b"], label_sets=[2]))
    assert one.G.net[1].in_channels == 3 + 2  # one dataset: no mask vector


def test_the_target_reaches_the_output():
    """Constant label maps would be erased by the first instance norm under reflection padding; with the paper's
    zero padding every target gives another image, at every pixel row of the output."""
    model = make().eval()
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        red, blue = model.retarget(x, {"red": 1}), model.retarget(x, {"blue": 1})
    assert (red - blue).abs().mean() > 1e-3
    assert ((red - blue).abs().amax((0, 1, 3)) > 1e-4).all()


def test_classification_loss_counts_only_known_labels():
    groups = [[0, 1, 2]]
    logits = torch.randn(4, 4)
    targets = torch.tensor([[1.0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]])
    known = torch.tensor([[1.0, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1]])
    loss = attribute_loss(logits, targets, groups, known)
    changed = logits.clone()
    changed[2:, :3] += 5  # the colour logits of the width-labelled samples ...
    changed[:2, 3] -= 5  # ... and the width logit of the colour-labelled ones
    assert torch.allclose(attribute_loss(changed, targets, groups, known), loss)
    ce = torch.nn.functional.cross_entropy(logits[:2, :3], torch.tensor([0, 2]), reduction="sum")
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits[2:, 3], targets[2:, 3], reduction="sum")
    assert torch.allclose(loss, (ce + bce) / 4)


def test_targets_are_shuffled_within_each_dataset():
    model = make()
    c = torch.eye(4)[[0, 1, 2, 3, 3, 0, 1, 3]]
    mask = torch.tensor([[1.0, 0], [1, 0], [1, 0], [0, 1], [0, 1], [1, 0], [1, 0], [0, 1]])
    target = model.shuffled(c, mask)
    for rows in ([0, 1, 2, 5, 6], [3, 4, 7]):
        assert sorted(map(tuple, target[rows].tolist())) == sorted(map(tuple, c[rows].tolist()))


def test_train_step_moves_both_networks():
    torch.manual_seed(0)
    model = make(n_critic=2)
    model.optimizers = model.configure_optimizers()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    calls = []
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    batch = {"x": x, "attrs": torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]),
             "mask": torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1]])}
    stats = model.train_step(lambda: calls.append(1) or batch, 0)
    assert len(calls) == 2 and all(torch.isfinite(v) for v in stats.values())
    for net in ("G.", "D."):
        assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items() if k.startswith(net))


def test_identity_term_is_g_on_the_source_labels_against_the_source():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    batch = {"x": x, "attrs": torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]),
             "mask": torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1]])}
    plain = make(n_critic=1)
    plain.optimizers = plain.configure_optimizers()
    assert "G/idt" not in plain.train_step(lambda: batch, 0)  # the paper's objective: no identity term
    model = make(n_critic=1, lambda_idt=5.0)
    model.optimizers = model.configure_optimizers()
    with torch.no_grad():  # D's update comes first and does not touch G
        want = torch.nn.functional.l1_loss(model.G_at(x, model.condition(*model.labels(batch))), x)
    stats = model.train_step(lambda: batch, 0)
    assert torch.allclose(stats["G/idt"], want, atol=1e-6) and want > 0


def test_class_labels_are_one_group_of_domains():
    model = make(DataInfo("faces", 16, 3, num_classes=3, class_names=["angry", "happy", "sad"]))
    assert model.attrs == ["angry", "happy", "sad"] and model.groups == [[0, 1, 2]]
    c, mask = model.labels({"x": torch.zeros(2, 3, 16, 16), "label": torch.tensor([2, 0])})
    assert c.tolist() == [[0, 0, 1], [1, 0, 0]] and mask.tolist() == [[1], [1]]
    unnamed = make(DataInfo("classes", 16, 3, num_classes=3))  # classes without names are named by number
    assert unnamed.attrs == ["0", "1", "2"] and unnamed.G.net[1].weight.shape[1] == 3 + 3  # image + label planes



@pytest.mark.parametrize("bad", ["a,b", "a=1", " a", "", "tab\there"])
def test_a_label_name_that_targets_cannot_name_is_refused_when_training_starts(bad):
    train = resolve_config({"model": {"name": "stargan"}}).train
    model = make(DataInfo("faces", 16, 3, num_classes=2, class_names=["ok", bad]))  # a trained one still loads
    with pytest.raises(GankitError, match="cannot be named in --attrs"):
        model.check(train, 100)
    make(DataInfo("clothes", 16, 3, num_classes=2, class_names=["T-shirt/top", "happy face"])).check(train, 100)

def test_targets_by_name():
    model = make().eval()
    assert model.parse_target("red=1,thick=0") == {"red": 1, "thick": 0}
    assert model.parse_target(domain="blue") == {"blue": 1}
    for attrs, fragment in (("purple=1", "unknown attribute 'purple'; this model has red, green, blue, thick"),
                            ("red=1,blue=1", "red and blue exclude each other"), ("red", "name=1 or name=0"),
                            ("", "target is needed")):
        with pytest.raises(GankitError, match=fragment):
            model.parse_target(attrs)
    assert [name for name, _ in model.all_targets()] == ["red", "green", "blue", "thick-flipped"]
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        passes = model.passes(x, {"green": 1, "thick": 1})
    assert len(passes) == 2  # one per dataset touched
    (c_a, m_a), (c_b, m_b) = passes
    assert (c_a[:, :3] == torch.tensor([0.0, 1, 0])).all() and (c_a[:, 3] == 0).all() and (m_a[:, 0] == 1).all()
    assert (c_b[:, 3] == 1).all() and (c_b[:, :3] == 0).all() and (m_b[:, 1] == 1).all()
    with torch.no_grad():
        assert model.retarget(x, {"green": 1, "thick": 1}).shape == x.shape


@pytest.mark.parametrize("size", [16, 28, 32, 128])
def test_discriminator_heads(size):
    D = StarDiscriminator(size, 3, 5, base=4)
    src, cls = D(torch.randn(2, 3, size, size))
    assert src.shape[:2] == (2, 1) and cls.shape == (2, 5)
    assert D.classify(torch.randn(2, 3, 40, 24)).shape == (2, 5)  # other sizes: resized for D_cls
    if size == 128:  # the paper's six stride-2 convs, 64 .. 2048 with base 64
        assert sum(isinstance(m, torch.nn.Conv2d) for m in D.body) == 6


SMALL = ["model.base_channels=4", "model.d_base_channels=4", "model.n_blocks=1", "model.n_critic=2",
         "data.img_size=16", "train.batch_size=4", "train.checkpoint_every=2", "train.tensorboard=false",
         "train.sample_every=2"]


def test_trains_resumes_exactly_translates_and_reloads(tmp_path):
    """Class domains (the digits as ten domains): a run stopped and resumed ends as the one that never stopped;
    the CLI translates by domain and to every domain; an export translates the same."""
    import gankit
    from gankit.cli import main

    straight = gankit.train("stargan", "digits", overrides=SMALL, steps=4, out=tmp_path / "a", device="cpu",
                            progress=False).model
    gankit.train("stargan", "digits", overrides=SMALL, steps=2, out=tmp_path / "b", device="cpu", progress=False)
    resumed = gankit.resume(tmp_path / "b", steps=4, progress=False).model
    assert all(torch.equal(v, resumed.state_dict()[k]) for k, v in straight.state_dict().items())
    assert (tmp_path / "a" / "samples" / "latest.png").is_file()
    from PIL import Image

    (tmp_path / "in").mkdir()
    for i in range(3):
        Image.fromarray((torch.rand(20, 12) * 255).byte().numpy()).save(tmp_path / "in" / f"{i}.png")
    assert main(["translate", str(tmp_path / "a"), str(tmp_path / "in"), "--out", str(tmp_path / "seven"),
                 "--domain", "7", "--quiet"]) == 0
    assert Image.open(tmp_path / "seven" / "1.png").size == (12, 20)  # each image at its own size
    assert main(["translate", str(tmp_path / "a"), str(tmp_path / "in"), "--out", str(tmp_path / "all"),
                 "--all-domains", "--grid", str(tmp_path / "g.png"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [str(k) for k in range(10)]
    assert Image.open(tmp_path / "g.png").size == (2 + 11 * 258, 2 + 3 * 258)  # input and ten domains per row
    x = torch.rand(2, 1, 16, 12)
    gankit.export(tmp_path / "a", tmp_path / "m")
    three = {"3": 1}
    assert torch.equal(gankit.load(tmp_path / "m").translate(x, target=three), straight.translate(x, target=three))
    # gankit evaluate on a StarGAN run: each domain's share read as the target by the model's own D_cls, and their
    # mean (one target per digit domain here).
    from gankit.evaluate import evaluate

    m = evaluate(tmp_path / "a", n=20, progress=False)
    per_domain = [m[f"target_accuracy_own_D_{k}"] for k in range(10)]
    assert m["images"] == 20 and all(0 <= v <= 1 for v in per_domain)
    assert m["target_accuracy_own_D"] == pytest.approx(sum(per_domain) / 10)
