"""Consolidation and what is read of the cycle: reports per level, the upward submission, status and traces."""
