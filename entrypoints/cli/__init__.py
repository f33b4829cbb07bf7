"""The ``vipb`` command line: a thin shell that parses, builds commands, asks, renders."""
