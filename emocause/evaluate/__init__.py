"""Scoring predictions against gold data: labels, metrics, span BLEU, datasets."""
