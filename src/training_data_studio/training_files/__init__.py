"""Training files: named sets of conversations, versioned, written in the v4 layout and stored privately."""
