"""Passing a plan down: assignments, implementing plans drafted and issued, successions, the duty tree."""
