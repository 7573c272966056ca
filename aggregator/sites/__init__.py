"""Site knowledge as data: one module per site (URL patterns, junk selectors)."""
