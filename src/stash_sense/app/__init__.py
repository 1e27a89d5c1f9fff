"""The application layer: the use cases that the command line and the sidecar both call.

Each takes typed inputs, returns dataclasses and raises the domain errors of `app.errors`; the
CLI and the sidecar only adapt input and output (arguments, HTTP, JSON, tables).
"""
