"""Fused STAF activation kernels: a C++ kernel for the CPU (:mod:`.cpu_staf`) and Triton kernels for CUDA
(:mod:`.triton_staf`, imported only when a CUDA tensor needs it). :mod:`staf_nerfstudio.functional` registers them
and picks one per device and dtype.
"""
