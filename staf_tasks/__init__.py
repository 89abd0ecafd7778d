"""Standalone INR tasks: fit images, audio and shapes, super-resolution and denoising, with STAF or a baseline."""
