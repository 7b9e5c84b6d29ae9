"""What imports what, lazily: ``import gradclip`` and a demo lookup import only what is used.

``gradclip/__init__.py`` maps each public name to its submodule (PEP 562) and
``gradclip.demos.MODULES`` maps each demo module to the demos it registers; both tables are
written by hand, so these tests hold them to what the modules really define and register.
Import order is watched in fresh interpreters (this one has imported everything already).
"""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import gradclip
from gradclip import demos

ROOT = Path(__file__).resolve().parents[2]   # the repository


def fresh(code: str):
    """What ``code`` prints as JSON, run in a new interpreter."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def test_import_gradclip_imports_none_of_its_submodules():
    loaded = fresh("import gradclip, json, sys; print(json.dumps([m for m in sys.modules if 'gradclip' in m]))")
    assert loaded == ["gradclip"]


# The frameworks that gradclip.integrations wraps, and PyTorch: optional, never imported by
# the package itself; each integration module imports its own framework when it is imported.
FRAMEWORKS = ("torch", "transformers", "accelerate", "lightning", "pytorch_lightning", "tensorboard", "tensorflow")


def test_gradclip_and_its_integrations_package_import_no_framework():
    loaded = fresh("import json, sys, gradclip, gradclip.integrations, gradclip.integrations.tensorboard;"
                   "gradclip.NormTracker().record(1.0);"
                   f"print(json.dumps([m for m in {FRAMEWORKS!r} if m in sys.modules]))")
    assert loaded == []


@pytest.mark.parametrize("name", gradclip.__all__)
def test_every_export_comes_from_the_module_the_table_names(name):
    value = getattr(gradclip, name)
    assert value is getattr(sys.modules[f"gradclip.{gradclip._EXPORTS[name]}"], name)
    assert name in dir(gradclip)


def test_star_import_gives_every_export():
    names: dict = {}
    exec("from gradclip import *", names)
    assert set(gradclip.__all__) <= set(names) and "__version__" in dir(gradclip)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gradclip.nope   # noqa: B018


def test_the_type_checking_imports_are_the_table():
    """IDEs read the ``if TYPE_CHECKING:`` imports; they must name what ``_EXPORTS`` serves."""
    tree = ast.parse(Path(inspect.getfile(gradclip)).read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    seen = {a.name: node.module.removeprefix("gradclip.") for node in block.body for a in node.names}
    assert seen == gradclip._EXPORTS


def test_simulate_and_train_stay_the_functions_when_their_modules_are_imported_later():
    """The functions share their names with their submodules; an import of the module must not
    replace the function on the package, whichever comes first."""
    kinds = fresh("import json, gradclip, gradclip.simulate, importlib; importlib.import_module('gradclip.train');"
                  "import gradclip.demos.simulator;"
                  "print(json.dumps([type(gradclip.simulate).__name__, type(gradclip.train).__name__]))")
    assert kinds == ["function", "function"]


# The module whose code calls register(), for every demo: register is wrapped before any demo
# module is imported, so the modules' own "from gradclip.demos import register" gets the wrapper.
REGISTERED_BY = """
import json, sys
import gradclip.demos as demos
owner, real = {}, demos.register
def register(spec):
    owner[spec.name] = sys._getframe(1).f_globals["__name__"].rsplit(".", 1)[-1]
    return real(spec)
demos.register = register
demos._load_all()
print(json.dumps(owner))
"""


def test_the_demo_table_names_the_module_that_registers_each_demo():
    table = {name: module for module, names in demos.MODULES.items() for name in names}
    assert sum(len(names) for names in demos.MODULES.values()) == len(table)   # each demo once
    assert fresh(REGISTERED_BY) == table


def test_a_demo_lookup_imports_only_its_module():
    loaded = fresh("import json, sys; from gradclip import demos; demos.run('clip_vector', {});"
                   "print(json.dumps(sorted(m for m in sys.modules if m.startswith('gradclip.demos.'))))")
    assert [m for m in loaded if m.split(".")[-1] in demos.MODULES] == ["gradclip.demos.teaching_theory"]


def test_an_unknown_demo_is_refused_with_every_known_name():
    with pytest.raises(ValueError, match="unknown demo 'nope'; known: ") as err:
        demos.validate("nope", {})
    demos._load_all()
    assert str(err.value).endswith(", ".join(sorted(demos.REGISTRY)))
