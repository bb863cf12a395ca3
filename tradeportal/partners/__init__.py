"""Area package; see ../../shared/ARCHITECTURE.md."""
