"""gomap's CI tools: the Python behind the thin ci/*.sh entry points
(see ci/README.md)."""
