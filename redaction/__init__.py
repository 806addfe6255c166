"""Keeping phone numbers and verification codes out of everything Rasa writes down.

Rasa Open Source 3.6 has no anonymisation of its own: `tracker_store` wraps the configured
tracker store (and so the event broker fed by it) and `logs` rewrites every log record, both
with the rules in `text`.
"""
