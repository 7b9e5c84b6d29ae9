"""Every example in the package's docstrings runs and prints what it says.

The same as ``python -m pytest --doctest-modules gradclip``, inside the ordinary test run so
that a stale example fails the suite. ``gradclip.__main__`` is left out (importing it runs
the command line).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import gradclip

MODULES = sorted(m.name for m in pkgutil.walk_packages(gradclip.__path__, "gradclip.")
                 if not m.name.endswith("__main__"))


def test_every_module_is_found():
    assert {"gradclip.adaptive", "gradclip.simulate", "gradclip.tracker", "gradclip.figures",
            "gradclip.demos.monitor"} <= set(MODULES)


@pytest.mark.parametrize("name", ["gradclip", *MODULES])
def test_docstring_examples(name):
    if name.startswith("gradclip.integrations."):       # each imports its framework, which may be absent
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            pytest.skip(f"{name} needs a framework that is not installed: {exc}")
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(verbose=False)   # no option flags, as pytest's doctests
    with np.printoptions(legacy=False):
        for test in doctest.DocTestFinder().find(module, name):
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (output above)"
