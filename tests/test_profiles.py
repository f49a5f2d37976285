import pytest

import mylib
from mylib import profiles


def test_unknown_profile_lists_valid_ones():
    with pytest.raises(ValueError, match="'smoke', 'full'"):
        profiles.check_profile("medium")


def test_register_and_get_config_roundtrip():
    profiles.register("_test_exp", smoke={"n": 3, "epochs": 1}, full={"n": 300, "epochs": 100})
    cfg = mylib.get_config("_test_exp", "full")
    assert (cfg.n, cfg.epochs, cfg.profile, cfg.experiment) == (300, 100, "full", "_test_exp")
    assert mylib.get_config("_test_exp", "smoke", n=5).n == 5
    assert cfg.as_dict()["n"] == 300


def test_get_config_errors():
    profiles.register("_test_exp2", smoke={"n": 1}, full={"n": 2})
    with pytest.raises(ValueError, match="unknown profile"):
        mylib.get_config("_test_exp2", "tiny")
    with pytest.raises(ValueError, match="unknown experiment"):
        mylib.get_config("_no_such_experiment", "smoke")
    with pytest.raises(ValueError, match="unknown override"):
        mylib.get_config("_test_exp2", "smoke", m=3)


def test_profiles_must_share_keys():
    with pytest.raises(ValueError, match="disagree"):
        profiles.register("_bad", smoke={"n": 1}, full={"m": 2})


def test_every_registered_experiment_has_both_profiles():
    for name in profiles.experiments():
        assert set(vars(mylib.get_config(name, "smoke"))) == set(vars(mylib.get_config(name, "full")))
