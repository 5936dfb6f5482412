"""The validation layer: from a file of raw/<source>/ to a verdict, its rows and its reports.

`parse_upload` is the pure function (tests call it directly); `validate_upload` is what the
pipeline, the CLI and the portal call: once per content (the ledger), in a bounded child process.
"""
