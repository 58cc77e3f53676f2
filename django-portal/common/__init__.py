"""Shared infrastructure of the portal's apps: the in-process TTL cache, the Django cache's Redis
client, the Prometheus metrics, and the client address with the network rules built on it. This
package imports no other portal app; every app may import it (tests/unit/portal/test_app_layers.py).
"""
