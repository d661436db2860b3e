"""Recognition's writes: kudos, customer-voted rewards, achievements and TV links."""
