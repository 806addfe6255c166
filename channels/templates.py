"""The few sentences channels say themselves, before a message reaches the assistant."""

MESSAGE_TOO_LONG = "您的消息太长了（超过{limit}个字），请分几次发送，或者直接说要办理的事情。"
EMPTY_MESSAGE = "没有收到内容，请问有什么可以帮您？"
UNAVAILABLE = "系统繁忙，请稍后再试。"
# The turn ended without a single reply (e.g. the action server is down or too slow). What the
# assistant did is unknown here, so this says only what is certain.
NO_REPLY = "系统繁忙，暂时无法回复您，请稍后再试。"
TOO_FAST = "您发送得太快了，请稍等{seconds}秒再发。"
MALFORMED_MESSAGE = "消息格式不正确，请重新输入。"
# A socket.io message whose session id is too short to be unguessable (never one we issued).
SESSION_INVALID = "当前会话无效，请刷新页面后重新开始。"
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
WEB_PAGE_TITLE = "退订助手"
WEB_PAGE_SUBTITLE = "在线办理：取消会员自动续费、查询会员和扣费"
WEB_PAGE_DESCRIPTION = "退订助手在线客服：取消手机会员的自动续费，查询会员、退订记录和扣费问题。"
WEB_STRINGS = {
    "log_label": "对话记录",
    "you": "我：",
    "bot": "助手：",
    "notice": "系统提示：",
    "input_label": "输入消息",
    "placeholder": "请输入您的问题，例如：取消腾讯视频会员",
    "send": "发送",
    "human": "转人工",
    "human_message": "转人工",
    "restart": "重新开始",
    "restart_label": "结束当前对话，重新开始",
    "quick_replies": "快捷回复",
    "typing": "助手正在输入…",
    "connecting": "正在连接，请稍候…",
    "reconnecting": "网络连接中断，正在重新连接…",
    "busy": UNAVAILABLE,
    "too_long": MESSAGE_TOO_LONG,
    "reference": "凭证号",
    "copy": "复制",
    "copy_label": "复制凭证号 {reference}",
    "copied": "凭证号已复制",
    "copy_failed": "复制失败，请长按凭证号手动复制。",
    "noscript": "请开启浏览器的 JavaScript 功能后再使用在线客服。",
}
WEB_ERROR_MESSAGES = {
    "not_found": "请求的页面或文件不存在",
    "method_not_allowed": "该地址只支持 GET 或 HEAD 请求",
}

# --- voice assistant (channels/voice) ---
# How screen-only wording is said aloud (channels/speech.py).
SPEECH_MASKED_PHONE = "尾号{tail}的号码"
SPEECH_OR_SAY_ITEM = "，或者直接说“{item}”"
SPEECH_OR_SAY_NAME = "，或者直接说会员名称"
SPEECH_CHOOSE_BY_ORDINAL = "请说“第一个”“第二个”这样的序号，或者直接说会员名称"
SPEECH_SAY_FIRST = "您可以说“第一个”"
SPEECH_IF_SO_SAY = "的话，直接说"
SPEECH_SAY = "说"
SPEECH_OR = "或者"
SPEECH_OPTIONS = "您可以说{options}。"
VOICE_NO_INPUT = "抱歉，我没有听清。"
VOICE_REPROMPT = "请问还有什么可以帮您？"
VOICE_WELCOME_BACK = "欢迎回来，我们接着刚才的办理。"
VOICE_GOODBYE = (
    "抱歉，我一直没能听清您的意思，这次先到这里。您也可以在营业厅APP的“已订业务”里取消，"
    "或者发送短信“{sms_keyword}”到{sms_number}，或者拨打客服热线{hotline}办理。再见！"
)
VOICE_ERROR_MESSAGES = {
    "unauthorized": "请求未通过身份校验",
    "missing_session": "缺少 session 对象",
    "invalid_session": "session 必须是对象，id 为不超过256个字符的字符串，new 为布尔值",
    "missing_user": "缺少 user 对象",
    "invalid_user": "user.id 必须是不超过256个字符的字符串",
    "invalid_device": "device.id 必须是不超过256个字符的字符串",
    "missing_request": "缺少 request 对象",
    "invalid_request": "request 必须是 JSON 对象",
    "invalid_type": "request.type 只能是 launch、text、no_input 或 end",
    "invalid_text": "request.text 必须是字符串",
    "invalid_nbest": "request.nbest 最多10项，每项含字符串 text 和0到1之间的 confidence",
    "invalid_version": "version 必须是字符串",
}


# --- phone IVR (channels/ivr) ---
# Spoken key hints, appended to the bot's words when the caller may press keys.
IVR_KEY_OPTION = "{title}请按{key}"
IVR_KEY_SEPARATOR = "，"
IVR_HUMAN_KEY = "转人工请按0"
IVR_CONFIRM_KEYS = "确认取消请按1，返回请按2，转人工请按0。"
IVR_PHONE_KEYS = "您也可以用电话按键输入11位手机号码，以井号键结束。"
IVR_CODE_KEYS = "您也可以用电话按键输入6位验证码，以井号键结束。"
IVR_REASON_KEYS = "也可以直接按井号键跳过。"
IVR_GREETING_KEYS = "需要人工服务请按0。"
# The keys the phone always offers to confirm a cancellation, and to cancel another.
IVR_CONFIRM_OPTIONS = ("确认取消", "返回")
IVR_ANOTHER_OPTIONS = ("还要取消", "不用了")
# The channel's own replies, when a turn never reaches the assistant.
IVR_LOW_CONFIDENCE = "抱歉，我没有听清楚，请您再说一遍。"
IVR_NO_INPUT = "抱歉，没有听到您的声音，请您再说一遍。"
IVR_BAD_KEY = "抱歉，这个按键无效。"
IVR_UNAVAILABLE = "系统繁忙，请稍后再试。如需帮助，请按0转人工客服。"
IVR_ERROR_MESSAGES = {
    "unauthorized": "缺少或错误的 IVR 平台密钥",
    "missing_call_id": "缺少 call_id 字段",
    "invalid_call_id": "call_id 必须是不超过64个字符的字母、数字或 ._:@- 组成的字符串",
    "missing_type": "缺少 type 字段",
    "invalid_type": "type 必须是 start、speech、dtmf 或 hangup",
    "invalid_ani": "ani 必须是不超过64个字符的字符串",
    "missing_text": "speech 事件缺少 text 字段",
    "invalid_text": "text 必须是字符串",
    "invalid_confidence": "confidence 必须是0到1之间的数字",
    "missing_digits": "dtmf 事件缺少 digits 字段",
    "invalid_digits": "digits 必须是不超过32位的 0-9、* 或 # 组成的字符串",
    "invalid_nbest": "nbest 最多10项，每项含字符串 text 和0到1之间的 confidence",
}

# --- SMS (channels/sms) ---
# One menu item of an SMS reply that has no buttons: "回复1 还要取消".
SMS_OPTION = "回复{number} {title}"
SMS_OPTION_SEPARATOR = "，"
SMS_OPTIONS_END = "。"
SMS_EMPTY = (
    "没有收到内容。发送“0000”可以查询并退订会员，也可以直接说要办理的事情，比如“取消腾讯视频”。"
)
SMS_TOO_LONG = "短信内容太长了（超过{limit}个字），请简短说明要办理的事情，比如“取消腾讯视频”。"
SMS_OTHER_NUMBER = (
    "为保障机主权益，短信只能办理发送号码本机的会员。如需取消{masked_phone}的会员，"
    "请用该号码发送“0000”。"
)
SMS_ERROR_MESSAGES = {
    "unauthorized": "短信网关签名无效或缺失",
    "unsupported_media_type": "只接受 JSON 或表单（x-www-form-urlencoded）格式的请求",
    "invalid_form": "请求不是有效的表单",
    "missing_from": "缺少 from 字段",
    "invalid_from": "from 必须是11位中国大陆手机号码",
    "missing_to": "缺少 to 字段",
    "invalid_to": "to 必须是3到20位的号码",
    "missing_text": "缺少 text 字段",
    "invalid_text": "text 必须是字符串",
    "invalid_message_id": "message_id 必须是不超过128个字符的字符串或数字",
    "duplicate_field": "同一个字段出现了多次",
}
