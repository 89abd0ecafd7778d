"""Signals to fit: images, audio clips and shapes, from files or built-in defaults that need no download."""
