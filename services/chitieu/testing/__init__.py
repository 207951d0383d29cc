"""Test doubles that are real servers: fake publishers reproducing the portals' shapes."""
