"""Speed patches to Rasa 3.6's internals, and the parse cache, applied by one entry point.

    python -m rasa_patches run --model models ...    # `rasa run ...`, with them
    python -m rasa_patches shell | test core ...     # any other `rasa` command, the same way

Nothing is patched at import. `catalog.py` lists every patch with the Rasa version and the
fingerprints of the upstream code it was written for; `guard.py` applies a patch only onto
that code, and only when RASA_PATCHES / RASA_PATCHES_DISABLE leave it on; `startup.py` is the
entry point (log redaction, the production check, the patches, then Rasa's own CLI). Each
patch module says what is slow upstream, what it does instead, and how to tell it is still
needed. Print the installed code's fingerprints with `python -m rasa_patches.fingerprints`.
"""
