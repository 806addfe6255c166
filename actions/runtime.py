"""The action server's collaborators (store, SMS gateway), built lazily and replaceable in tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional

from core.clock import utc_now
from core.dev_clock import clock_from_env
from core.partners import build_partners
from core.settings import Settings
from core.sms import SmsGateway, build_sms_gateway
from core.store import SubscriptionService, build_service


@dataclass
class Runtime:
    """Everything an action needs beyond the tracker."""

    settings: Settings
    store: SubscriptionService
    sms: SmsGateway
    clock: Callable[[], datetime] = utc_now

    def epoch(self) -> float:
        """The clock as epoch seconds (what slots store)."""
        return self.clock().timestamp()


_runtime: Optional[Runtime] = None
_lock = threading.Lock()


def get_runtime() -> Runtime:
    """The process-wide runtime, built from the environment on first use."""
    global _runtime
    with _lock:
        if _runtime is None:
            settings = Settings.from_env()
            # One clock for the actions and the store (a development control may shift it).
            clock = clock_from_env()
            _runtime = Runtime(
                settings=settings,
                store=build_service(settings, partners=build_partners(settings), clock=clock),
                sms=build_sms_gateway(settings),
                clock=clock,
            )
        return _runtime


def set_runtime(runtime: Optional[Runtime]) -> None:
    """Replaces the runtime (tests), or clears it so the next call rebuilds it."""
    global _runtime
    with _lock:
        _runtime = runtime


__all__ = ["Runtime", "get_runtime", "set_runtime", "utc_now"]
