"""Plugins the Rasa server loads by name from endpoints.yml (not patches: Rasa's own extension
points): the answer generator that says what comes next, the Redis lock and tracker stores."""
