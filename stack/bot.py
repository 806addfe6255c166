"""The running assistant as its tests and evaluations see it: a REST client of a Rasa server
with the store, SMS outbox and partner control of its servers (`Bot`), and `served`, both
servers started on a fresh demo store in a work folder."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Dict, Iterator, List, Tuple

from core.partners import set_partner_mode
from core.settings import Settings
from core.sms.outbox import latest_code, read_outbox
from core.store import SubscriptionService, build_service
from stack.launch import ROOT, build, latest_model

# The origins the tests' servers allow (the browser tests check them).
CORS = "https://shop.example.cn,https://help.example.cn"


@dataclass
class Bot:
    """The running assistant, its store and its SMS outbox."""

    url: str
    settings: Settings
    store: SubscriptionService
    env: Dict[str, str]
    # More arguments of `python -m core.store.seed` (--force on a scratch PostgreSQL store).
    seed_args: ClassVar[Tuple[str, ...]] = ()

    def api_url(self, path: str, **params: str) -> str:
        """A URL of Rasa's HTTP API (`/conversations/...`, `/model/parse`) with its token."""
        query = urllib.parse.urlencode({**params, "token": self.env["RASA_API_TOKEN"]})
        return f"{self.url}{path}{'&' if '?' in path else '?'}{query}"

    def say(self, sender: str, text: str) -> List[str]:
        """Sends one message over the REST channel and returns the bot's texts."""
        return [reply.get("text", "") for reply in self.raw(sender, text)]

    def raw(self, sender: str, text: str) -> List[dict]:
        """Like `say`, but the whole reply objects (buttons included)."""
        body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
        request = urllib.request.Request(
            f"{self.url}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read().decode("utf-8"))

    def code_for(self, phone: str) -> str:
        """The verification code last sent to `phone` (read from the SMS outbox)."""
        code = latest_code(self.settings.sms_outbox, phone)
        assert code is not None, f"no code was sent to {phone}"
        return code

    def outbox(self) -> List[dict]:
        """Every SMS sent so far."""
        return read_outbox(self.settings.sms_outbox)

    def partner_mode(self, mode: str) -> None:
        """Tells the development partner to succeed, fail or time out."""
        set_partner_mode(self.settings.partner_sim_control, mode)

    def reseed(self) -> None:
        """Resets the store to the demo data and empties the outbox."""
        subprocess.run(
            [sys.executable, "-m", "core.store.seed", *self.seed_args],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.settings.sms_outbox.unlink(missing_ok=True)
        self.partner_mode("ok")

    @classmethod
    def of(cls, url: str, env: Dict[str, str]) -> Bot:
        """A client of the Rasa server at `url`, with the store and outbox `env` names."""
        settings = Settings.from_env(env)
        return cls(url=url, settings=settings, store=build_service(settings), env=env)


@contextmanager
def served(work: Path, env: Dict[str, str], extra: str = "", debug: bool = False) -> Iterator[Bot]:
    """Both servers on a fresh demo store in `work`, logs in work/actions.log and rasa.log;
    stopped on exit. `extra` is more endpoints YAML (a wrapped tracker store, a broker);
    `debug` starts both at debug level, the action server in `work` so that anything it
    writes lands there. StartError when a server does not come up."""
    stack = build(
        work,
        env,
        model=str(latest_model()),
        cors=CORS,
        api_token=env["RASA_API_TOKEN"],
        extra_endpoints=extra,
        debug=debug,
    )
    try:
        stack.spawn()
        bot = Bot.of(stack.url, env)
        # Seeded while the model loads.
        bot.reseed()
        stack.wait()
        yield bot
    finally:
        stack.stop()
