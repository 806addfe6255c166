"""The action server of 退订助手: one module per concern, the store package behind them."""

from redaction import logs as _logs

# Whichever way the action server is started (`rasa run actions` included), its log records
# are redacted: rasa_sdk logs slot values and events at debug level.
_logs.install()
