"""The CLI's exit statuses (``docs/cli.md``)."""

EXIT_OK, EXIT_NOT_EXECUTED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3
