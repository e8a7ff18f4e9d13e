"""Tests of the checks (pure judgment) and the trust store."""
