"""What `make run`'s demo serves besides our own services: stand-ins for the real publishers."""
