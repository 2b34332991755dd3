"""The instructor's side of the kata: never released to students.

Layout, by trust:
  sandbox/  runs student code (and nothing else); what crosses out of it is plain data.
  judge/    holds the test data, the expected values and the scores; never imports student code.
"""
