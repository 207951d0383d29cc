"""Evaluation of the whole catalog against the observations known at a time (the DB side)."""
