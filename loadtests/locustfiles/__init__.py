"""Locustfiles: one per platform kind and one for every platform of a profile; each works with plain `locust -f`."""
