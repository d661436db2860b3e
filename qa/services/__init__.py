"""QA writes, split by sub-domain: scorecards (builder), reviews, disputes."""
