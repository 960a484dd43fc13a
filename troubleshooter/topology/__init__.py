"""Beyond one node: Sentinel URLs and the master they resolve to, Cluster topology, `watch`."""
