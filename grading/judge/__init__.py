"""The judge: test data, expected values, comparisons and scores. Never imports student code."""
