"""Standalone INR tasks: fit images, audio and shapes (and solve super-resolution and denoising) with STAF or a baseline."""
