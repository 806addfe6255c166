"""rasa_patches.guard and startup: a patch goes only onto the code it was written for, each can
be switched off by name, the start-up log says what was applied, plugins refuse a mismatch."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator, List

import pytest

from rasa_patches import catalog, guard, startup

UPSTREAM_SOURCE = '''
class Engine:
    def slow(self):
        return "slow"


def helper():
    return 1
'''
PATCH_SOURCE = '''
import upstream_for_guard_test as upstream

calls = []


def fast(self):
    return "fast"


def apply():
    calls.append("apply")
    upstream.Engine.slow = fast


def switch(env):
    size = int(env.get("FAKE_SIZE", "1"))
    return size > 0, f"FAKE_SIZE={size}"
'''


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[Path]:
    """A fake upstream module and a fake patch module of it, importable for one test."""
    (tmp_path / "upstream_for_guard_test.py").write_text(textwrap.dedent(UPSTREAM_SOURCE))
    (tmp_path / "patch_for_guard_test.py").write_text(textwrap.dedent(PATCH_SOURCE))
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in ("upstream_for_guard_test", "patch_for_guard_test"):
            sys.modules.pop(name, None)


def fake_patch(name: str = "fake", upstream: str = "", version: str = "") -> guard.Patch:
    """A patch of the fake upstream's Engine.slow, declared with its true fingerprint unless
    `upstream` (a fingerprint) or `version` (the Rasa version) say otherwise."""
    target = "upstream_for_guard_test:Engine.slow"
    return guard.Patch(
        name=name,
        module="patch_for_guard_test",
        does="a faster Engine.slow",
        written_for={"rasa": version or guard.installed_version("rasa")},
        upstream={target: upstream or guard.fingerprint(target)},
    )


def engine_says() -> str:
    import upstream_for_guard_test

    return upstream_for_guard_test.Engine().slow()


def test_a_matching_patch_is_applied_and_listed(modules: Path, caplog) -> None:
    """Same version, same fingerprint: applied, and the start-up log names it."""
    outcomes = guard.apply_selected([fake_patch()], {})
    assert [(o.patch.name, o.status) for o in outcomes] == [("fake", guard.APPLIED)]
    assert engine_says() == "fast"
    with caplog.at_level(logging.INFO, logger="rasa_patches.guard"):
        guard.log_outcomes(outcomes)
    assert "Rasa speed patches: applied: fake (FAKE_SIZE=1)" in caplog.text


def test_a_fingerprint_mismatch_skips_the_patch_with_a_warning(modules: Path, caplog) -> None:
    """Upstream changed since the patch was written: not applied, a warning says which and why."""
    outcomes = guard.apply_selected([fake_patch(upstream="0123456789abcdef")], {})
    assert outcomes[0].status == guard.SKIPPED
    assert engine_says() == "slow"  # Rasa's own code runs
    assert "patch_for_guard_test" not in sys.modules  # not even imported
    with caplog.at_level(logging.INFO, logger="rasa_patches.guard"):
        guard.log_outcomes(outcomes)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "fake SKIPPED" in message
    assert "upstream_for_guard_test:Engine.slow changed" in message
    assert "written for 0123456789abcdef" in message


def test_an_edited_upstream_function_changes_its_fingerprint(modules: Path) -> None:
    """The fingerprint follows the function's source; other code in the file does not count."""
    target = "upstream_for_guard_test:Engine.slow"
    before = guard.fingerprint(target)
    path = modules / "upstream_for_guard_test.py"
    path.write_text(path.read_text().replace("return 1", "return 2"))
    assert guard.fingerprint(target) == before
    path.write_text(path.read_text().replace('return "slow"', 'return "slower"'))
    assert guard.fingerprint(target) != before


def test_another_rasa_version_skips_the_patch_even_with_the_same_code(modules: Path) -> None:
    """Written for another Rasa: skipped, and the reason says the code itself is unchanged."""
    (outcome,) = guard.apply_selected([fake_patch(version="3.5.0")], {})
    assert outcome.status == guard.SKIPPED
    assert "written for rasa 3.5.0, found" in outcome.reason
    assert "upstream code is unchanged" in outcome.reason
    assert engine_says() == "slow"


def test_a_patch_is_disabled_by_name(modules: Path, caplog) -> None:
    """RASA_PATCHES_DISABLE=name: not applied, listed as disabled with the setting."""
    patches = [fake_patch("fake"), fake_patch("other")]
    outcomes = guard.apply_selected(patches, {"RASA_PATCHES_DISABLE": " fake "})
    assert [o.status for o in outcomes] == [guard.DISABLED, guard.APPLIED]
    with caplog.at_level(logging.INFO, logger="rasa_patches.guard"):
        guard.log_outcomes(outcomes)
    assert "disabled: fake (RASA_PATCHES_DISABLE)" in caplog.text
    assert "applied: other" in caplog.text


def test_rasa_patches_none_or_a_list_selects(modules: Path) -> None:
    """RASA_PATCHES=none: nothing; RASA_PATCHES=a,b: only those."""
    patches = [fake_patch("fake"), fake_patch("other")]
    none = guard.apply_selected(patches, {"RASA_PATCHES": "none"})
    assert [o.status for o in none] == [guard.DISABLED, guard.DISABLED]
    assert engine_says() == "slow"
    only = guard.apply_selected(patches, {"RASA_PATCHES": "other"})
    assert [o.status for o in only] == [guard.DISABLED, guard.APPLIED]


def test_an_unknown_name_is_refused(modules: Path) -> None:
    """A typo must not leave on a patch meant to be off: refused, the known names listed."""
    with pytest.raises(guard.SwitchError, match="unknown patches: fak; known: fake"):
        guard.apply_selected([fake_patch()], {"RASA_PATCHES_DISABLE": "fak"})
    assert engine_says() == "slow"


def test_a_feature_switched_off_by_its_setting_is_not_applied(modules: Path) -> None:
    """A module's own switch (the parse cache's size) can leave it off, with the setting."""
    (outcome,) = guard.apply_selected([fake_patch()], {"FAKE_SIZE": "0"})
    assert (outcome.status, outcome.reason) == (guard.OFF, "FAKE_SIZE=0")
    assert engine_says() == "slow"


def test_a_plugin_refuses_a_changed_upstream(modules: Path) -> None:
    """require_upstream raises, naming the plugin and what changed; passes when it matches."""
    target = "upstream_for_guard_test:Engine.slow"
    guard.require_upstream("my.plugin", {}, {target: guard.fingerprint(target)})
    with pytest.raises(guard.UpstreamChanged, match=r"my.plugin refuses to start: .*Engine.slow"):
        guard.require_upstream("my.plugin", {}, {target: "0" * 16})


def test_every_declared_patch_matches_the_installed_rasa() -> None:
    """The catalog is up to date with the installed Rasa: nothing would be skipped."""
    for patch in catalog.ALL:
        assert guard.mismatch(patch.written_for, patch.upstream) is None, patch.name
    assert len({p.name for p in catalog.ALL}) == len(catalog.ALL)


def test_the_redis_plugins_match_the_installed_rasa() -> None:
    """The stores' declarations hold, so they start; a changed one would refuse."""
    from rasa_plugins import redis_lock_store, redis_tracker_store

    for plugin in (redis_lock_store, redis_tracker_store):
        assert guard.mismatch(plugin.WRITTEN_FOR, plugin.UPSTREAM) is None, plugin.__name__


def test_the_old_store_paths_still_load() -> None:
    """Deployed endpoints files naming rasa_fixes.* keep working for a release."""
    from rasa_fixes.redis_lock_store import AtomicRedisLockStore as old_lock
    from rasa_fixes.redis_tracker_store import RedisTrackerStore as old_tracker
    from rasa_plugins.redis_lock_store import AtomicRedisLockStore
    from rasa_plugins.redis_tracker_store import RedisTrackerStore

    assert (old_lock, old_tracker) == (AtomicRedisLockStore, RedisTrackerStore)


def test_importing_the_entry_point_patches_nothing() -> None:
    """Nothing happens at import: in a fresh process Rasa's methods stay its own."""
    code = (
        "import rasa_patches.__main__, rasa_patches.startup, rasa_patches.catalog, channels\n"
        "from rasa.core.actions.action import RemoteAction\n"
        "from rasa.core.processor import MessageProcessor\n"
        "print(RemoteAction._validate_action_result.__module__,"
        " MessageProcessor.parse_message.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.split() == ["rasa.core.actions.action", "rasa.core.processor"]


def test_the_command_is_the_first_argument_that_is_not_an_option() -> None:
    """`run`, `shell`, `test` are found; the production check is for serving commands."""
    assert startup.command_of(["run", "--model", "m"]) == "run"
    assert startup.command_of(["--debug", "shell"]) == "shell"
    assert startup.command_of([]) is None
    assert set(startup.SERVING_COMMANDS) == {"run", "shell"}


def test_prepare_refuses_an_unknown_name_with_one_message(monkeypatch) -> None:
    """A typo in RASA_PATCHES_DISABLE ends the process with a message, before Rasa serves."""
    monkeypatch.setattr("redaction.logs.install", lambda: None)
    with pytest.raises(SystemExit, match="rasa_patches: refusing to start: .*tf_predic"):
        startup.prepare("test", {"RASA_PATCHES_DISABLE": "tf_predic"})


def test_prepare_runs_the_production_check_only_for_serving(monkeypatch) -> None:
    """`run` and `shell` are checked (in production a weak secret ends them); `test` is not."""
    checked: List[str] = []
    monkeypatch.setattr("redaction.logs.install", lambda: None)
    monkeypatch.setattr(
        "tools.production_check.check_rasa_server", lambda env: checked.append("checked")
    )
    monkeypatch.setattr(guard, "apply_selected", lambda patches, env: [])
    for command in ("run", "shell", "test"):
        startup.prepare(command, {})
    assert checked == ["checked", "checked"]


def test_the_parse_cache_switch_reads_its_size() -> None:
    """PARSE_CACHE_SIZE: unset on (2048), 0 off, junk refused with the variable's name."""
    from rasa_patches import parse_cache

    assert parse_cache.switch({}) == (True, "PARSE_CACHE_SIZE=2048")
    assert parse_cache.switch({"PARSE_CACHE_SIZE": "0"}) == (False, "PARSE_CACHE_SIZE=0")
    with pytest.raises(ValueError, match="PARSE_CACHE_SIZE must be a whole number"):
        parse_cache.switch({"PARSE_CACHE_SIZE": "lots"})



def test_the_entry_point_refuses_weak_production_secrets_before_serving(tmp_path: Path) -> None:
    """`python -m rasa_patches run` in production with weak secrets: exit 1, each one named,
    before any patch is applied or the model loaded."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_TOKEN", "_SECRET", "_KEY"))
    }
    env.update(DEPLOY_ENV="production", RASA_TELEMETRY_ENABLED="false", ACTION_SERVER_TOKEN="x")
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text('action_endpoint:\n  url: "http://127.0.0.1:1/webhook"\n')
    command = [sys.executable, "-m", "rasa_patches", "run", "--model", str(tmp_path)]
    command += ["--endpoints", str(endpoints), "--enable-api", "--auth-token=abc"]
    done = subprocess.run(
        command, cwd=Path(__file__).resolve().parents[2], env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-3000:]
    assert "rasa server: refusing to start with DEPLOY_ENV=production" in out
    assert "ACTION_SERVER_TOKEN: shorter than 32 characters" in out
    assert "RASA_API_TOKEN: the HTTP API is on and its token is shorter than 32" in out
    assert "Rasa speed patches" not in out and "Loading model" not in out
