"""Rasa input channels: each turns a platform's request into a message and renders replies."""
