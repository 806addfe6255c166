"""The trained model's NLU, loaded once for the accuracy tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from tests.e2e.bot import latest_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def parse() -> Callable[[str], Dict[str, Any]]:
    """Parses a text with the latest trained model's NLU pipeline."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(latest_model()))
    loop = asyncio.new_event_loop()

    def _parse(text: str) -> Dict[str, Any]:
        return loop.run_until_complete(agent.parse_message(text))

    yield _parse
    loop.close()
