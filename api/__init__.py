"""The Flask HTTP API (to come; it will call engine/)."""
