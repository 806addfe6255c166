"""`make bench`: the evaluation and benchmark suite (NLU, dialogue, speed) and its report."""
