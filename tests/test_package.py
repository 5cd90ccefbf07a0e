"""The package's shape: a light core, one ``__all__`` per module, imports at the top."""

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import dropoutlib

PACKAGE = Path(dropoutlib.__file__).parent
MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages([str(PACKAGE)], prefix="dropoutlib.") if not name.endswith("__main__")
) + ["dropoutlib"]


def test_the_core_imports_jax_alone():
    # The command of the issue, in a fresh interpreter.
    code = (
        "import dropoutlib, sys; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'optax','sklearn','tqdm','matplotlib'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_core_namespace_is_dropout_and_its_statistics():
    assert set(dropoutlib.__all__) == {
        "IMPLS",
        "chernoff_bound",
        "dropout",
        "dropout_moments",
        "dropped_count_cdf",
        "dropped_count_chisquare",
        "dropped_count_interval",
        "dropped_count_logpmf",
        "dropped_count_pmf",
        "dropped_fraction_tail",
        "gaussian_dropout",
        "keep_mask",
        "keep_probability",
        "variance_z_score",
        "z_score",
    }
    public = {name for name in vars(dropoutlib) if not name.startswith("_")}
    assert public - set(dropoutlib.__all__) <= {
        "binomial", "dropout", "gaussian", "masks", "moments", "hashmask", "philox", "book", "experiments",
        "maskstats",
    }


@pytest.mark.parametrize("name", MODULES)
def test_every_module_has_one_all_naming_what_exists(name):
    module = importlib.import_module(name)
    source = Path(module.__file__).read_text()
    tree = ast.parse(source)
    assignments = [
        node for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets)
    ]
    augmented = [node for node in ast.walk(tree) if isinstance(node, ast.AugAssign) and getattr(node.target, "id", None) == "__all__"]
    assert len(assignments) == 1 and not augmented, f"{name}: one __all__ assignment, never extended"
    missing = [item for item in module.__all__ if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ names {missing}, which do not exist"


@pytest.mark.parametrize("name", MODULES)
def test_imports_come_before_any_module_code(name):
    tree = ast.parse(Path(importlib.import_module(name).__file__).read_text())
    seen_code = False
    for node in tree.body:
        is_docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            assert not seen_code, f"{name}: import on line {node.lineno} after module code"
        elif not is_docstring:
            seen_code = True


def test_extras_are_declared_for_the_subpackages():
    import tomllib

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    core = {dep.split(">")[0].split("=")[0] for dep in project["dependencies"]}
    assert core == {"jax", "numpy", "scipy"}
    extras = {name: {dep.split(">")[0] for dep in deps} for name, deps in project["optional-dependencies"].items()}
    assert extras == {"experiments": {"optax", "scikit-learn", "tqdm"}, "book": {"matplotlib"}}
