"""QA pages, split by sub-domain: the scorecard builder, reviews and disputes, reports."""
