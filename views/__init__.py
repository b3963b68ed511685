"""Views on the gated canonical stream: inventory positions, alerts, reconciliation."""
