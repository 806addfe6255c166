"""The review inbox: misunderstood turns from the tracker store, grouped for an operator to
label, then merged into the training data (docs/review_inbox.md).

store.py reads Rasa's SQL tracker store (read-only), turns.py rebuilds the user turns with
their context, collect.py picks the misunderstood ones, privacy.py takes personal data out of
their text, grouping.py groups them by similarity, review_file.py writes and reads the file
the operator edits, merge.py writes the labelled examples into data/nlu/.
"""
