"""Byte units and SGLang's host reserve: constants only, so that light modules (launch's start
path) can use them without importing the pydantic models."""

GB = 1_000_000_000  # what SGLang means by GB in --hicache-size
GiB = 1 << 30
HOST_RESERVE_BYTES = 10 * GiB  # SGLang's HICACHE_HOST_MEMORY_RESERVE_BYTES
