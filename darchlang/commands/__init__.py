"""Subcommands of `darch`: each module defines HELP, add_arguments(parser) and run(args).

A new module here becomes a subcommand with no other change; `ORDER` sorts the help.
"""
