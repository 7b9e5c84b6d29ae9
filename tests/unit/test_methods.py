"""The method registry: one entry per name, read by the simulator, training and the CLI."""

from __future__ import annotations

import importlib

import pytest

import gradclip
from gradclip.methods import CLIP_METHODS, method_names
from gradclip.sim_clip import FLOAT_METHODS

# the modules (gradclip.simulate and gradclip.train are also the names of functions)
sim = importlib.import_module("gradclip.simulate")
train = importlib.import_module("gradclip.train")


def test_the_simulator_and_training_offer_the_registry_methods_in_its_order():
    assert sim.METHODS == method_names("simulator") == gradclip.METHODS
    assert train.METHODS == method_names("training")
    assert set(train.METHODS) <= set(sim.METHODS)


def test_each_knob_name_has_one_meaning_across_methods_and_places():
    meanings = {}
    for m in CLIP_METHODS.values():
        for place in ("simulator", "training"):
            k = getattr(m, place)
            if k is not None and m.name != "none":
                assert meanings.setdefault(k.name, k.meaning) == k.meaning, k.name


def test_the_adaptive_rules_name_their_two_knobs_differently():
    for name in ("autoclip", "zclip"):
        m = CLIP_METHODS[name]
        assert m.stateful and m.knob("simulator").name == "warmup_cap"
        assert m.knob("training").name != "warmup_cap"
    with pytest.raises(ValueError, match="not offered"):
        CLIP_METHODS["adaptive"].knob("training")


def test_the_float_fast_path_takes_only_stateless_methods():
    assert all(not CLIP_METHODS[m].stateful for m in FLOAT_METHODS)


def test_max_steps_are_named_for_what_they_bound_and_old_names_stay():
    assert sim.MAX_STEPS == sim.SIM_MAX_STEPS == gradclip.SIM_MAX_STEPS == 2000
    assert train.MAX_STEPS == train.TRAIN_MAX_STEPS == gradclip.TRAIN_MAX_STEPS == 5000


def test_training_checks_the_autoclip_percentile_against_its_knob():
    with pytest.raises(ValueError, match="percentile"):
        train.RunSpec("autoclip", 150.0)
    assert train.RunSpec("autoclip", 100.0).tau == 100.0
