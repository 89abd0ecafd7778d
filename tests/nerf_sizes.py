"""The tiny ``staf`` field the NeRF tests train on the CPU in seconds (shared by the test modules that need it)."""

TINY = {
    "hidden_dim": 16,
    "num_layers": 1,
    "hidden_dim_color": 16,
    "proposal_hidden_dim": 16,
    "num_proposal_samples_per_ray": (16, 8),
    "num_nerf_samples_per_ray": 8,
}
"""``--pipeline.model.*`` overrides: a 16-wide field and proposal networks, 16 + 8 proposal and 8 field samples."""
