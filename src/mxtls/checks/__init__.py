"""Checks: pure judgment.  Observations (and an injected clock) in, findings out.

One module per code prefix; :func:`mxtls.checks.judge.judge` calls them all.
No I/O and no clock here: everything a check needs is in its arguments.
"""
