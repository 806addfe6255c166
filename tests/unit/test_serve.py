"""tools/serve.py: the command lines make run and the end-to-end tests use."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.serve import commands, endpoints_file


def test_commands_pass_ports_endpoints_and_every_cors_origin(tmp_path: Path) -> None:
    """Both servers on the given ports; each configured origin becomes a --cors value."""
    endpoints = endpoints_file(5056, tmp_path)
    action, server = commands(5006, 5056, endpoints, "https://a.cn, https://b.cn")
    assert action[-2:] == ["-p", "5056"]
    assert server[server.index("-p") + 1] == "5006"
    cors = server[server.index("--cors") + 1 :]
    assert cors == ["https://a.cn", "https://b.cn"]
    assert "http://localhost:5056/webhook" in endpoints.read_text(encoding="utf-8")


def test_rasa_starts_without_onednn_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TensorFlow reads the switch when imported: it is set on the command line."""
    endpoints = endpoints_file(5056, tmp_path)
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    _, server = commands(5006, 5056, endpoints, "*")
    assert server[:2] == ["env", "TF_ENABLE_ONEDNN_OPTS=0"] and server[3] == "run"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    assert commands(5006, 5056, endpoints, "*")[1][1] == "TF_ENABLE_ONEDNN_OPTS=1"
    stock = commands(5006, 5056, endpoints, "*", tuned=False)[1]
    assert stock[0].endswith("rasa") and "env" not in stock
