"""Rasa input channels: each turns a platform's request into a message and renders replies."""

import rasa_fixes
from redaction import logs as _logs
from tools.production_check import check_rasa_server

# Rasa loads the channels before the first message: from then on its log records are redacted
# even when the tracker store is not the redacting one, and Rasa's own problems are fixed.
_logs.install()
rasa_fixes.apply()
# With DEPLOY_ENV=production the Rasa process ends here (SystemExit, status 1), before it
# serves, naming every secret it would use that is unset, public, a placeholder or too short.
check_rasa_server()
