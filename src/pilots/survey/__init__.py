"""Satisfaction survey (満足度調査): importing form exports and the satisfaction rate (SPEC §5)."""
