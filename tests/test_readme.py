import re

from tests.helpers.cli import ROOT


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_the_readme_starts_with_the_two_commands():
    demo, tests = readme_commands()
    assert demo.endswith("mektepnet demo") and "scripts/setup.sh" in demo
    assert "pytest" in tests and "--test" in tests


def test_ci_runs_the_readmes_test_command():
    _, tests = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci


def test_every_command_in_the_tour_exists():
    text = (ROOT / "README.md").read_text()
    from tests.helpers.cli import run_cli

    for group, sub in set(re.findall(r"`mektepnet ([\w-]+)(?: ([\w-]+))?", text)):
        if group == "demo" or sub in ("", None) or not sub.replace("-", "").isalpha():
            continue
        assert run_cli(group, sub, "--help").returncode == 0, (group, sub)
