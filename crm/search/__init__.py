"""Search across enterprises, institutions, researchers, needs and achievements."""
