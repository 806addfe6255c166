"""`rasa data validate`: no errors, and no warnings but those Rasa cannot know are fine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
UNUSED = re.compile(r"The utterance '(utter_[a-z_]+)' is not used in any story or rule")


def test_rasa_data_validate_is_clean() -> None:
    """Exit 0; the only warnings name responses that a custom action utters (Rasa can't see it)."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "data", "validate", "--fail-on-warnings"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    actions_source = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "actions").glob("*.py"))
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    # Forms ask for a slot with utter_ask_<slot>: Rasa uses them without a rule naming them.
    actions_source += "".join(
        f'"utter_ask_{slot}"'
        for form in domain["forms"].values()
        for slot in form["required_slots"]
    )
    warnings = [line for line in output.splitlines() if "UserWarning" in line]
    for line in warnings:
        match = UNUSED.search(line)
        assert match, f"unexpected warning: {line}"
        assert f'"{match.group(1)}"' in actions_source, f"{match.group(1)} is used by nothing"
