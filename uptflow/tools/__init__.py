"""Command-line tools behind ``uptflow <subcommand>`` (one module per subcommand)."""
