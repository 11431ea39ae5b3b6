"""Glance: the image DB API (``rawdb.glance.images``) and, later, the image cache."""
