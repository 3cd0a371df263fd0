"""Configuration: defaults validate, bad files name file + field + expectation, overlays stack."""

from pathlib import Path

import pytest

from supersize_grasp.config import Config, ConfigError, flatten, load_config, overlay, to_yaml

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_are_valid_and_cover_every_section():
    config = load_config()
    assert set(Config.model_fields) == {
        "robot",
        "arms",
        "camera",
        "calibration",
        "trial",
        "learning",
        "clear_table",
        "storage",
        "simulator",
        "preflight",
    }
    assert config.trial.approach_height == 0.25
    assert config.trial.lift_height == 0.20
    assert config.trial.num_angle_bins == 18
    assert config.learning.aggregation_gamma == 3.0


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_yaml_file_is_a_valid_profile(path):
    load_config([path])


def test_defaults_yaml_documents_the_current_defaults():
    shipped = (CONFIG_DIR / "defaults.yaml").read_text()
    assert shipped == to_yaml(Config()), (
        "config/defaults.yaml is stale: regenerate it with "
        "`supersize-grasp config > config/defaults.yaml`"
    )


def test_overlay_files_stack_and_keep_other_defaults(tmp_path):
    a = write(tmp_path, "a.yaml", "trial:\n  lift_height: 0.1\n  approach_height: 0.3\n")
    b = write(tmp_path, "b.yaml", "trial:\n  lift_height: 0.15\n")
    config = load_config([a, b])
    assert config.trial.lift_height == 0.15
    assert config.trial.approach_height == 0.3
    assert config.trial.num_angle_bins == 18
    assert config.arms.left.workspace == Config().arms.left.workspace


def test_unknown_key_names_file_field_and_expected_keys(tmp_path):
    path = write(tmp_path, "typo.yaml", "trial:\n  lift_heigth: 0.2\n")
    with pytest.raises(ConfigError) as e:
        load_config([path])
    message = str(e.value)
    assert str(path) in message
    assert "trial.lift_heigth" in message
    assert "unknown key" in message
    assert "lift_height" in message


def test_unknown_section_is_an_error(tmp_path):
    path = write(tmp_path, "bad.yaml", "trials:\n  lift_height: 0.2\n")
    with pytest.raises(
        ConfigError, match=r"bad\.yaml: trials: unknown key; expected one of: robot"
    ):
        load_config([path])


def test_out_of_range_value_names_constraint_and_value(tmp_path):
    path = write(tmp_path, "neg.yaml", "trial:\n  approach_height: -0.25\n")
    with pytest.raises(
        ConfigError, match=r"neg\.yaml: trial\.approach_height: .*greater than 0.*-0\.25"
    ):
        load_config([path])


def test_wrong_type_is_reported(tmp_path):
    path = write(tmp_path, "type.yaml", "learning:\n  profile: gpu\n")
    with pytest.raises(
        ConfigError, match=r"learning\.profile: Input should be 'paper', 'cpu' or 'resnet'"
    ):
        load_config([path])


def test_section_level_check_names_the_file(tmp_path):
    path = write(
        tmp_path, "arms.yaml", "arms:\n  left: {enabled: false}\n  right: {enabled: false}\n"
    )
    with pytest.raises(ConfigError, match=r"arms\.yaml: arms: .*at least one arm"):
        load_config([path])


def test_cross_section_check_names_both_settings(tmp_path):
    path = tmp_path / "slow.yaml"
    path.write_text("trial: {max_tick_gap: 2.0}\nrobot: {state_timeout: 4.0}\n")
    with pytest.raises(ConfigError, match=r"slow\.yaml: .*trial\.max_tick_gap \(2\.0 s\) .*"
                       r"robot\.state_timeout \(4\.0 s\)"):  # fmt: skip
        load_config([path])
    path.write_text("learning: {scorer_timeout: 20.0}\nsimulator: {ros: {oracle_seconds: 8}}\n")
    with pytest.raises(ConfigError, match=r"simulator\.ros\.oracle_seconds \(8\.0 s\) .*"
                       r"learning\.scorer_timeout \(20\.0 s\)"):  # fmt: skip
        load_config([path])


def test_broken_yaml_and_missing_and_non_mapping_files(tmp_path):
    broken = write(tmp_path, "broken.yaml", "trial: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML"):
        load_config([broken])
    with pytest.raises(ConfigError, match=r"nope\.yaml: no such configuration file"):
        load_config([tmp_path / "nope.yaml"])
    listing = write(tmp_path, "list.yaml", "- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"list\.yaml: expected a mapping of sections"):
        load_config([listing])


def test_empty_file_means_defaults(tmp_path):
    assert load_config([write(tmp_path, "empty.yaml", "")]) == Config()


def test_dotted_overrides_and_flatten_round_trip():
    config = load_config(overrides={"trial.lift_height": 0.12, "arms.right.enabled": False})
    assert config.trial.lift_height == 0.12
    assert config.arms.active() == ["left"]
    flat = flatten(config)
    assert flat["trial.lift_height"] == 0.12
    assert overlay(Config(), flat) == config


def test_printed_yaml_loads_back_to_the_same_config(tmp_path):
    config = load_config(overrides={"trial.lift_height": 0.18})
    path = write(tmp_path, "dump.yaml", to_yaml(config))
    assert load_config([path]) == config


def test_config_is_immutable():
    with pytest.raises(ValueError):
        Config().trial.lift_height = 1.0  # type: ignore[misc]
