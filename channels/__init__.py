"""Rasa input channels: each turns a platform's request into a message and renders replies.

Nothing happens at import: log redaction, the production check and the patches to Rasa are
applied by the entry point that starts Rasa (`python -m rasa_patches run ...`).
"""
