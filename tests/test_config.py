import pytest

from gankit.config import DataConfig, RunConfig, default_config, from_dict, load_yaml, resolve_config, to_dict
from gankit.errors import ConfigError, GankitError


def test_defaults_are_the_papers():
    cfg = default_config("dcgan")
    assert (cfg.model.lr_G, cfg.model.lr_D, cfg.model.beta1, cfg.model.leak) == (2e-4, 2e-4, 0.5, 0.2)
    assert cfg.train.batch_size == 128  # the paper's batch, applied from the model's train defaults


def test_yaml_round_trip(tmp_path):
    cfg = resolve_config({"model": {"name": "dcgan", "z_dim": 7}}, ["data.flip=true", "train.ema_beta=0.99"])
    path = tmp_path / "c.yaml"
    path.write_text(cfg.to_yaml())
    again = resolve_config(load_yaml(path))
    assert again == cfg
    assert isinstance(again, RunConfig) and again.model.z_dim == 7 and again.data.flip is True


@pytest.mark.parametrize("override, fragment", [
    ("model.bogus=1", "unknown config key 'model.bogus'"),
    ("model.z_dimm=3", "did you mean 'z_dim'"),
    ("modle.z_dim=3", "unknown config section 'modle' (did you mean 'model'?)"),
    ("model.z_dim=abc", "'model.z_dim' must be an integer"),
    ("model.z_dim=1.5", "'model.z_dim' must be an integer"),
    ("model.lr_G=fast", "'model.lr_G' must be a finite number"),
    ("data.flip=3", "'data.flip' must be true or false"),
    ("data.fit=pda", "did you mean 'pad'"),
    ("train.steps=0", "'train.steps' must be at least 1"),
    ("data.channels=2", "'data.channels' must be 1 or 3"),
    ("nonsense", "must look like section.key=value"),
])
def test_bad_overrides_name_the_problem(override, fragment):
    with pytest.raises(ConfigError) as e:
        resolve_config({"model": {"name": "dcgan"}}, [override])
    assert fragment in str(e.value)


def test_unknown_key_lists_valid_ones():
    with pytest.raises(ConfigError) as e:
        resolve_config({"model": {"name": "dcgan"}}, ["model.bogus=1"])
    assert "valid keys in 'model': base_channels, beta1" in str(e.value)


def test_overrides_are_typed():
    cfg = resolve_config({"model": {"name": "dcgan"}}, ["model.lr_G=2e-4", "model.z_dim=64", "train.ema_beta=0"])
    assert cfg.model.lr_G == 2e-4 and isinstance(cfg.model.lr_G, float)  # '2e-4' is a string in YAML 1.1
    assert cfg.model.z_dim == 64 and cfg.train.ema_beta == 0.0


def test_unknown_model_suggests():
    with pytest.raises(GankitError, match="did you mean 'dcgan'"):
        resolve_config({"model": {"name": "dcgn"}})


def test_from_dict_rejects_non_mapping_section():
    with pytest.raises(ConfigError, match="'data' must be a mapping"):
        resolve_config({"model": {"name": "dcgan"}, "data": 5})
    assert to_dict(from_dict(DataConfig, {"spec": "mnist"}))["spec"] == "mnist"


def test_bad_yaml_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_yaml(tmp_path / "missing.yaml")
