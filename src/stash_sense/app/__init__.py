"""The application layer: the use cases that the command line and the sidecar both call.

Each takes typed inputs (`app.requests` holds the request models and their constraints), returns
the result models of `app.results` (the one wire format: the sidecar's answers, the CLI's
`--json`) and raises the domain errors of `app.errors`; those from the packages below come
through named in `app.failures`. The CLI and the sidecar only adapt input and output
(arguments, HTTP, JSON, tables). docs/architecture.md lists every use case and its module.
"""
