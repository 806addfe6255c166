"""How well the assistant does, measured the same way by the tests and the bench: NLU scores
(nlu.py) and invariants over random conversations (invariants/)."""
