"""Reliability harness: workloads and checks shared by the test suite and the long runs."""
