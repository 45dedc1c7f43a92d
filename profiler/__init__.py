"""Spark-backed column profiler (a library: plain inputs, typed outputs, no catalog database access).

Its capability lands with the profiler issue; the package exists so the layout matches the architecture.
"""
