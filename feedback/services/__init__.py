"""Feedback writes, split by sub-domain: ``ingest`` (interactions in), ``rollups`` (metrics)."""
