"""The few sentences channels say themselves, before a message reaches the assistant."""

MESSAGE_TOO_LONG = "您的消息太长了（超过{limit}个字），请分几次发送，或者直接说要办理的事情。"
EMPTY_MESSAGE = "没有收到内容，请问有什么可以帮您？"
UNAVAILABLE = "系统繁忙，请稍后再试。"
TOO_FAST = "您发送得太快了，请稍等{seconds}秒再发。"
ERROR_MESSAGES = {
    "body_too_large": "请求体过大",
    "invalid_utf8": "请求不是有效的 UTF-8 文本",
    "invalid_json": "请求不是有效的 JSON",
    "not_an_object": "请求体必须是 JSON 对象",
    "missing_sender": "缺少 sender 字段",
    "invalid_sender": "sender 必须是不超过128个字符的字符串",
    "missing_message": "缺少 message 字段",
    "invalid_message": "message 必须是字符串",
    "invalid_metadata": "metadata 必须是 JSON 对象",
    "rate_limited": "请求过于频繁",
    "unavailable": "服务暂时不可用",
}

# --- web chat page (channels/web) ---

# --- voice assistant (channels/voice) ---

# --- phone IVR (channels/ivr) ---

# --- SMS (channels/sms) ---
