"""A client on one channel cannot step into another channel's conversation (real bot and store).

Before conversation ids were namespaced, a REST client sending `sender: "ivr-<call id>"` landed
in the phone call's conversation and was served as the caller the call had verified.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import List

import pytest

from channels.ivr import DEV_TOKEN
from channels.ivr.replay import http_poster
from channels.sms import sender_id as sms_sender_id
from channels.sms.auth import DEV_SECRET
from channels.voice_turns import sender_for
from core.identity.assertion import CLIENT_KEY, DEV_KEY, METADATA_KEY, key_from_env, sign
from core.identity.conversation import local_id
from tests.e2e.bot import Bot

pytestmark = pytest.mark.e2e

ZHANG = "13800138000"
# Every question for the phone number says this (the privacy notice mentions 手机号码 too).
ASKS_PHONE = "告诉我开通会员的手机号码"
# What the assistant may only tell the verified holder of 13800138000.
ZHANG_DATA = ("腾讯视频VIP", "QQ音乐绿钻", "咪咕视频", "138****8000", "¥25", "25元")


def holder_data_in(texts: List[str], asked_about: str = "") -> List[str]:
    """The pieces of the holder's data found in the bot's texts (but the name the user said)."""
    said = "\n".join(texts)
    return [piece for piece in ZHANG_DATA if piece in said and piece != asked_about]


def rest(bot: Bot, sender: str, text: str, metadata: dict) -> List[str]:
    """One REST message with metadata; the bot's texts, each addressed back to `sender`."""
    body = {"sender": sender, "message": text, "metadata": metadata}
    request = urllib.request.Request(
        f"{bot.url}/webhooks/rest/webhook",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        replies = json.loads(response.read().decode("utf-8"))
    assert {reply["recipient_id"] for reply in replies} == {sender}
    return [reply.get("text", "") for reply in replies]


def assert_stranger_gets_nothing(bot: Bot, sender: str, metadata: dict) -> None:
    """Asking for the memberships, then to cancel one: a phone number is asked, nothing told."""
    listed = rest(bot, sender, "我开了哪些会员", metadata)
    assert ASKS_PHONE in "\n".join(listed), listed
    assert holder_data_in(listed) == [], listed
    cancel = rest(bot, sender, "取消腾讯视频", metadata)
    assert ASKS_PHONE in "\n".join(cancel), cancel
    assert holder_data_in(cancel, asked_about="腾讯视频VIP") == [], cancel


def statuses(bot: Bot) -> List[str]:
    """The demo holder's membership statuses: nothing may change."""
    return [s.status for s in bot.store.subscriptions(ZHANG)]


def test_rest_naming_a_verified_call_gets_none_of_the_callers_data(fresh: Bot) -> None:
    """An IVR caller proves 13800138000 with the SMS code and stays on the line; a REST client
    sending that call's old-style (`ivr-<call>`) and new-style (`ivr:<call>`) ids is a stranger
    in its own conversation, even with forged identity metadata. The call is untouched."""
    call = f"cc-{uuid.uuid4().hex[:10]}"
    post = http_poster(fresh.url, fresh.env.get("IVR_TOKEN") or DEV_TOKEN)

    def caller(**event: str) -> str:
        """One caller turn (no hang-up: a hang-up restarts the call's conversation)."""
        status, body = post({"call_id": call, **event})
        assert status == 200, body
        return "\n".join(body.get("messages", []))

    caller(type="start", ani="anonymous")
    caller(type="speech", text="我要取消自动续费")
    caller(type="dtmf", digits=f"{ZHANG}#")
    listed = caller(type="dtmf", digits=f"{fresh.code_for(ZHANG)}#")
    assert "腾讯视频VIP" in listed and "QQ音乐绿钻" in listed, "the caller is verified"
    before = statuses(fresh)

    forged = {
        "identity": {"phone": ZHANG, "source": "caller_id"},
        # Signed with the public development key for the call's conversation: still useless.
        METADATA_KEY: sign(DEV_KEY, conversation_id=f"ivr:{call}", phone=ZHANG, source="caller_id"),
        CLIENT_KEY: "forged",
    }
    for sender in (f"ivr-{call}", f"ivr:{call}"):
        assert_stranger_gets_nothing(fresh, sender, forged)
    assert statuses(fresh) == before
    # The call itself is still verified and where it was: key 1 picks from its list.
    picked = caller(type="dtmf", digits="1")
    assert holder_data_in([picked]), picked
    caller(type="hangup")
    assert statuses(fresh) == before


def speaker_turn(bot: Bot, user: str, text: str) -> str:
    """One smart-speaker turn of `user` (ASR text); what the speaker displays."""
    body = {
        "version": "1.0",
        "session": {"id": "sess-crosschannel", "new": False},
        "user": {"id": user},
        "device": {"id": "speaker-livingroom"},
        "request": {"text": text},
    }
    token = bot.env.get("VOICE_TOKEN")
    request = urllib.request.Request(
        f"{bot.url}/webhooks/voice/webhook",
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read().decode("utf-8"))["response"]["display_text"]


def test_rest_naming_a_verified_speaker_user_gets_none_of_the_data(fresh: Bot) -> None:
    """A speaker user proves 13800138000 with the code; REST naming that user's conversation
    (`voice:<hash>`, or `voice-<hash>` as it was spelled before) is a stranger."""
    user = f"voice-user-{uuid.uuid4().hex[:10]}"
    speaker_turn(fresh, user, "帮我把腾讯视频的自动续费关了")
    speaker_turn(fresh, user, ZHANG)
    status = speaker_turn(fresh, user, f"验证码是{fresh.code_for(ZHANG)}")
    assert "身份验证成功" in status and "腾讯视频VIP" in status, "the speaker user is verified"
    before = statuses(fresh)
    conversation = sender_for(user)
    for sender in (conversation, f"voice-{local_id(conversation)}"):
        assert_stranger_gets_nothing(fresh, sender, {"identity": {"phone": ZHANG}})
    assert statuses(fresh) == before


def test_rest_naming_an_sms_conversation_gets_nothing(fresh: Bot) -> None:
    """The SMS conversation of 13800138000, named over REST in every spelling, with a
    `sms_sender` assertion for the SMS conversation (signed with this run's key) attached."""
    sms_conversation = sms_sender_id(ZHANG, fresh.env.get("SMS_WEBHOOK_SECRET") or DEV_SECRET)
    key = key_from_env(fresh.env)
    forged = {
        "identity": {"phone": ZHANG, "source": "sms_sender"},
        METADATA_KEY: sign(key, conversation_id=sms_conversation, phone=ZHANG, source="sms_sender"),
    }
    senders = [sms_conversation, f"sms-{local_id(sms_conversation)}", f"sms-{ZHANG}"]
    before = statuses(fresh)
    for sender in senders:
        assert_stranger_gets_nothing(fresh, sender, forged)
    assert statuses(fresh) == before
