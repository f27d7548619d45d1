"""The application layer: the command line and the long-running service."""
