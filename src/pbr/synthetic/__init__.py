"""Synthetic stage (being split)."""
