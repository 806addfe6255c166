"""Deprecated: the old home of the Redis stores, kept so deployed endpoints files still load.

The speed patches moved to `rasa_patches/` (applied by `python -m rasa_patches run ...`), the
Redis lock and tracker stores to `rasa_plugins/`. Remove this package one release after the
move (docs/deployment.md).
"""
