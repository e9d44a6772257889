"""The README is a front page whose commands are the ones CI runs."""
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def fresh_machine_block():
    readme = README.read_text()
    return readme, re.search(r"On a fresh machine.*?```sh\n(.*?)```", readme, re.S).group(1)


def test_ci_runs_the_readmes_commands_as_written():
    readme, block = fresh_machine_block()
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["pip install . && python -m backprop example", "pip install '.[test]' && pytest"]
    assert readme.index(block) < 2000      # on the first screen
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash tools/check_readme_commands.sh" in ci


@pytest.mark.skipif(shutil.which("awk") is None, reason="needs awk, as the CI script does")
def test_the_check_extracts_exactly_the_readmes_two_lines():
    _, block = fresh_machine_block()
    script = (ROOT / "tools" / "check_readme_commands.sh").read_text()
    awk = re.search(r"block_after\(\) \{\n    awk -v anchor=\"\$2\" '(.*?)' \"\$1\"", script, re.S).group(1)
    out = subprocess.run(["awk", "-v", "anchor=On a fresh machine", awk, str(README)],
                         capture_output=True, text=True, check=True).stdout
    assert out == block


def test_the_readme_is_a_front_page():
    assert len(README.read_text().splitlines()) <= 200


@pytest.mark.parametrize("page", [README, *sorted((ROOT / "docs").rglob("*.md"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_of_the_repository(page):
    for target in re.findall(r"\]\(((?!https?:|#|mailto:)[^)#\s]+)", page.read_text()):
        assert (page.parent / target).exists(), target


def python_blocks(section):
    readme = README.read_text()
    part = readme.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", part, re.S)


def test_the_first_network_examples_print_what_their_comments_say(capsys):
    xor, classify, _api = python_blocks("A first network")
    scope = {}
    exec(xor, scope)
    assert f"{scope['hist'].loss[-1]:.1e}" == "1.3e-05"
    assert re.search(r"print\(net\.predict\(X\)\.ravel\(\)\)\s+# \[0\.002 0\.995 0\.994 0\.006\]", xor)
    assert scope["net"].predict(scope["X"]).ravel().round(3).tolist() == [0.002, 0.995, 0.994, 0.006]
    exec(classify, scope)             # the blocks run in order, as one session
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2:] == ["0.97", "['north' 'east' 'east']"]
    assert "# 0.97" in classify and "# ['north' 'east' 'east']" in classify
