"""Pure domain: the four case aggregates, their stage tables, events and invariants."""
