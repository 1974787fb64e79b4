// Shared command-line helpers for the three tools.
