"""`make bench`: payload size, cold start against a floor function, peak memory, warm overhead."""
