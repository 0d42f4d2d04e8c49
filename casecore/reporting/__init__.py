"""Aggregates for the monthly report and the lead's dashboard: read-only queries over the case
core, counts and codes only (never a decrypted field), in Japanese months."""
