"""The packaging files: cibuildwheel builds exactly the intended wheels, the
GitHub workflow is valid and agrees with pyproject.toml, and the type stub of
the compiled core matches the module.

The `repo` tests need the dev extra's tools (cibuildwheel, check-jsonschema):
where those are missing they skip, naming them, or fail under
BACKPROP_REQUIRE_REPO_TOOLS=1 (see conftest.py).
"""
import ast
import inspect
import json
import os
import pathlib
import subprocess
import sys
import types

import pytest

from backprop import _core

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "wheels.yml"
PYTHONS = ["cp310", "cp311", "cp312", "cp313", "cp314"]
INTENDED = {
    ("linux", "x86_64"): [f"{py}-manylinux_x86_64" for py in PYTHONS],
    ("linux", "aarch64"): [f"{py}-manylinux_aarch64" for py in PYTHONS],
    ("macos", "x86_64"): [f"{py}-macosx_x86_64" for py in PYTHONS],
    ("macos", "arm64"): [f"{py}-macosx_arm64" for py in PYTHONS],
    ("windows", "AMD64"): [f"{py}-win_amd64" for py in PYTHONS],
}


def pyproject():
    import tomllib      # Python >= 3.11; the repo tests run on CI's Python

    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def workflow():
    from ruamel.yaml import YAML      # check-jsonschema's YAML parser (YAML 1.2: `on` stays a string)

    return YAML(typ="safe").load(WORKFLOW.read_text())


def build_identifiers(platform, archs=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    command = [sys.executable, "-m", "cibuildwheel", "--print-build-identifiers",
               "--platform", platform]
    if archs:
        command += ["--archs", archs]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return sorted(result.stdout.split())


@pytest.mark.repo
@pytest.mark.parametrize("platform, arch", INTENDED, ids=[f"{p}-{a}" for p, a in INTENDED])
def test_cibuildwheel_builds_exactly_the_intended_wheels_per_arch(platform, arch):
    assert build_identifiers(platform, arch) == sorted(INTENDED[platform, arch])


@pytest.mark.repo
@pytest.mark.parametrize("platform", ["linux", "macos", "windows"])
def test_cibuildwheel_builds_exactly_the_intended_wheels_per_platform(platform):
    # With the archs of pyproject.toml: no i686, win32, musllinux, PyPy or free-threaded build.
    expected = sorted(i for (p, _), ids in INTENDED.items() if p == platform for i in ids)
    assert build_identifiers(platform) == expected


@pytest.mark.repo
def test_cibuildwheel_configuration_matches_its_schema():
    import jsonschema
    from cibuildwheel import __file__ as cibw_file

    schema = json.loads((pathlib.Path(cibw_file).parent / "resources" / "cibuildwheel.schema.json")
                        .read_text())
    jsonschema.validate(pyproject()["tool"]["cibuildwheel"], schema)


@pytest.mark.repo
@pytest.mark.parametrize("path", sorted(WORKFLOW.parent.glob("*.yml")), ids=lambda p: p.name)
def test_workflow_is_a_valid_github_workflow(path):
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def steps_using(job, action):
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


@pytest.mark.repo
def test_workflow_builds_every_arch_natively_with_the_pinned_cibuildwheel():
    wheels = workflow()["jobs"]["wheels"]
    matrix = wheels["strategy"]["matrix"]["include"]
    archs = {(entry["os"], entry["archs"]) for entry in matrix}
    platform_of = {"ubuntu": "linux", "macos": "macos", "windows": "windows"}
    built = {(platform_of[os_.split("-")[0]], arch) for os_, arch in archs}
    assert built == set(INTENDED)
    config = pyproject()["tool"]["cibuildwheel"]
    assert {(p, a) for p in ("linux", "macos", "windows") for a in config[p]["archs"]} == built
    # Each runner builds its own architecture: aarch64 on an arm runner (no QEMU).
    assert ("ubuntu-24.04-arm", "aarch64") in archs
    assert not any("qemu" in s.get("uses", "") for s in wheels["steps"])
    (step,) = steps_using(wheels, "pypa/cibuildwheel")
    assert step["env"]["CIBW_ARCHS"] == "${{ matrix.archs }}"
    pinned = [r for r in pyproject()["project"]["optional-dependencies"]["dev"]
              if r.startswith("cibuildwheel")]
    assert pinned == ["cibuildwheel==" + step["uses"].split("@v")[1]]


@pytest.mark.repo
def test_workflow_builds_and_tests_a_wheel_from_the_sdist():
    sdist = workflow()["jobs"]["sdist"]
    runs = " ".join(s.get("run", "") for s in sdist["steps"])
    assert "tools/check_wheel.sh" in runs
    (upload,) = steps_using(sdist, "actions/upload-artifact")
    assert upload["with"]["path"].endswith(".tar.gz")


@pytest.mark.repo
def test_workflow_publishes_on_release_with_trusted_publishing():
    flow = workflow()
    assert flow["on"]["release"]["types"] == ["published"]
    publish = flow["jobs"]["publish"]
    assert set(publish["needs"]) == {"wheels", "sdist"}
    assert "github.event_name == 'release'" in publish["if"]
    assert publish["permissions"] == {"id-token": "write"}
    (step,) = steps_using(publish, "pypa/gh-action-pypi-publish")
    assert "password" not in step.get("with", {})        # no token: trusted publishing
    (download,) = steps_using(publish, "actions/download-artifact")
    uploads = [s["with"]["name"] for name in ("wheels", "sdist")
               for s in steps_using(flow["jobs"][name], "actions/upload-artifact")]
    prefix = download["with"]["pattern"].rstrip("*")
    assert uploads and all(name.startswith(prefix) for name in uploads)


# ------------------------------------------------------- the type stub

def stub():
    path = pathlib.Path(_core.__file__).with_name("_core.pyi")
    return ast.parse(path.read_text())


def stub_members(body):
    """name -> the stub's ast node for the public (and _private) names of a body."""
    members = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            members[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            members[node.target.id] = node
    return members


def public(names):
    return {n for n in names if not n.startswith("_")}


def check_signature(node, runtime):
    stub_params = [a.arg for a in node.args.args + node.args.kwonlyargs]
    assert stub_params == list(inspect.signature(runtime).parameters), node.name


def test_stub_is_installed_next_to_the_extension():
    assert pathlib.Path(_core.__file__).with_name("_core.pyi").is_file()
    assert pathlib.Path(_core.__file__).with_name("py.typed").is_file()


# Public names must match both ways; private ones (test shims such as
# _core._math_apply) need not be in the stub, but what the stub names must exist.

def test_stub_lists_the_modules_names_and_signatures():
    members = stub_members(stub().body)
    names = {n for n in public(dir(_core)) if not isinstance(getattr(_core, n), types.ModuleType)}
    assert public(members) == names
    assert all(hasattr(_core, name) for name in members)
    for name, node in members.items():
        if isinstance(node, ast.FunctionDef):
            check_signature(node, getattr(_core, name))
    error = stub_members(members["DivergenceError"].body)["__init__"]
    check_signature(error, _core.DivergenceError.__init__)


def model_from_stub_arguments():
    """A Model built with the stub's constructor argument names as keywords."""
    node = stub_members(stub_members(stub().body)["Model"].body)["__init__"]
    names = [a.arg for a in node.args.args[1:]]
    values = [[2, 3, 1], [3, 1], [0, 4], [0.0, 0.0], 0, 0.0, True]
    return _core.Model(**dict(zip(names, values, strict=True)))


def test_stub_names_the_models_constructor_arguments():
    assert model_from_stub_arguments().n_params == 2 * 3 + 3 + 3 * 1 + 1


def test_stub_lists_the_models_members_and_signatures():
    cls = stub_members(stub().body)["Model"]
    members = stub_members(cls.body)
    assert public(members) == public(dir(_core.Model))
    assert all(hasattr(_core.Model, name) for name in members)
    model = model_from_stub_arguments()
    for name, node in members.items():
        if name == "__init__":          # checked by calling it, above
            continue
        if callable(inspect.getattr_static(_core.Model, name)):
            assert isinstance(node, ast.FunctionDef) and not node.decorator_list, name
            check_signature(node, getattr(_core.Model, name))
            continue
        # A data attribute: a property in the stub if read-only, an annotated
        # attribute if it can be set.
        try:
            setattr(model, name, getattr(model, name))
            writable = True
        except AttributeError:
            writable = False
        assert isinstance(node, ast.AnnAssign if writable else ast.FunctionDef), name
