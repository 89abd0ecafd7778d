"""The nerfstudio method: ``ns-train staf`` and ``ns-train staf-hash``.

Modules: :mod:`.field` (the STAF field), :mod:`.model` (proposal sampling, rendering, losses, metrics),
:mod:`.hash_grid` (multiresolution hash encoding: tiny-cuda-nn when present, torch otherwise, one checkpoint format),
:mod:`.schedulers` (numpy-free learning-rate schedules, so checkpoints load with ``weights_only=True``),
:mod:`.lpips` (offline LPIPS), :mod:`.method_configs` (the entry points), :mod:`.demo`.

Nothing is imported here: nerfstudio loads :mod:`.method_configs` through the package's entry points.
"""
