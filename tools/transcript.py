"""Plays a cancellation conversation against a running assistant and prints it (for the README)."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import urllib.request
from pathlib import Path

from core.settings import Settings
from core.sms.outbox import latest_code


def say(url: str, sender: str, text: str) -> list:
    """One REST turn; the bot's texts."""
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return [r.get("text", "") for r in json.loads(response.read().decode("utf-8"))]


def main() -> int:
    """Runs the conversation; `{code}` in a line is replaced by the code from the SMS outbox."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://localhost:5005")
    parser.add_argument("--phone", default="13800138000")
    parser.add_argument("--outbox", type=Path, default=Settings.from_env().sms_outbox)
    parser.add_argument(
        "lines",
        nargs="*",
        default=[
            "你好",
            "帮我把腾讯视频的自动续费关了",
            "13800138000",
            "验证码{code}",
            "确认取消",
            "不怎么看了",
            "不用了，谢谢",
        ],
    )
    args = parser.parse_args()
    sender = secrets.token_hex(16)  # a REST sender is a bearer secret: 128 random bits
    for line in args.lines:
        if "{code}" in line:
            line = line.replace("{code}", latest_code(args.outbox, args.phone) or "")
        print(f"用户：{line}")
        for text in say(args.url, sender, line):
            print("助手：" + text.replace("\n", "\n      "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
