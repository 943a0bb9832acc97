"""Background jobs: data export archive, purge after account deletion."""
