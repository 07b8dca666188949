"""The application: settings, answers with verified quotes, the CLI and the Discord adapter."""
