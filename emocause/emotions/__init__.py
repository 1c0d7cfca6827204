"""Emotion names, answer parsing and span grounding: pure functions, no I/O."""
