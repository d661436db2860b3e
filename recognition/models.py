"""Recognition models."""
