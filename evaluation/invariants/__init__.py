"""Invariants checked over random conversations (issue 13): pools of user turns, sequences
drawn by hypothesis, checks after every turn, and a runner against the real servers."""
