"""The README's Python example runs as written, and its set-up commands are the ones .ci/run runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "README has no Python example"
    exec(compile(blocks[0], "README.md example", "exec"), {})
    out = capsys.readouterr().out
    assert "Kruegel 2016" in out and "MG" in out and "7-OH-MG" in out


def test_ci_runs_exactly_the_readme_test_command():
    commands = re.findall(r"```bash\n(python3 -m venv .*?)\n```", README)
    assert len(commands) == 2, commands
    demo, tests = commands
    assert "pharmsim demo --out results" in demo
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines(), "the README's test command and .ci/run differ"
    assert "not dosing advice" in README
