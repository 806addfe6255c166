"""The core of 退订助手, importable without Rasa: the subscription store (SQLAlchemy), identity
(verified sessions, channel assertions, conversation names), partners, the SMS gateway and the
settings. The Rasa action server (`actions/`) and the channels call it; it calls nothing above.
"""
