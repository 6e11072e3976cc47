"""SNMP polling of routers and uplinks: one poller for the probe (its school's router) and the centre
(operator nodes and managed CPEs)."""
