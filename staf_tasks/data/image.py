"""Images to fit: PNG/JPEG files or scikit-image's bundled pictures, as float arrays in [0, 1]."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from staf_tasks.data.files import check_data_file
from staf_tasks.errors import StafUserError

#: scikit-image's bundled pictures usable by name (no download).
BUILTIN_IMAGES = ("astronaut", "camera", "coffee", "chelsea", "rocket", "cat")


def load_image(
    source: str | Path | None = "astronaut",
    size: Optional[Tuple[int, int]] = None,
    composite_alpha: bool = False,
) -> np.ndarray:
    """Loads an image as ``float32`` in [0, 1], shape ``(H, W)`` (gray) or ``(H, W, 3)`` (RGB).

    Args:
        source: A path to a PNG/JPEG/... file, or the name of a bundled scikit-image picture (``astronaut``,
            ``camera``, ...). ``None`` means ``astronaut``.
        size: Optional ``(height, width)`` to resize to (anti-aliased area resampling).
        composite_alpha: Composite an RGBA/LA image over white instead of refusing it.

    Raises:
        StafUserError: missing or unreadable file, unknown built-in name, an alpha channel without
            ``composite_alpha``, or an image smaller than 2x2.
    """
    source = "astronaut" if source is None else source
    if isinstance(source, str) and source in BUILTIN_IMAGES:
        import skimage.data

        image = np.asarray(getattr(skimage.data, source)())
        name = source
    else:
        path = Path(source)
        check_data_file(path, "image", "PNG or JPEG", BUILTIN_IMAGES)
        try:
            import imageio.v3 as iio

            image = np.asarray(iio.imread(path))
            if _png_bit_depth(path) == 16 and image.dtype != np.uint16:
                image = _read_png16(path)  # imageio's Pillow backend reads 16-bit RGB(A) as 8-bit
        except Exception:  # imageio raises many types for unreadable input, none of them telling
            raise StafUserError(f"cannot read image {path}: it is damaged or not an image; pass a PNG or JPEG "
                                "file") from None
        name = str(path)
    if image.dtype == np.uint16:
        image = image.astype(np.float32) / 65535.0
    elif image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    elif image.dtype == bool:
        image = image.astype(np.float32)
    else:
        image = image.astype(np.float32)
        if image.max() > 1.0 or image.min() < 0.0:
            raise StafUserError(f"image {name} has float values outside [0, 1]; save it as 8- or 16-bit PNG")
    if image.ndim == 3 and image.shape[-1] in (2, 4):
        if not composite_alpha:
            raise StafUserError(
                f"image {name} has an alpha channel; remove it, or pass --composite-alpha to composite it "
                "over white"
            )
        alpha = image[..., -1:]
        image = image[..., :-1] * alpha + (1.0 - alpha)
        if image.shape[-1] == 1:
            image = image[..., 0]
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise StafUserError(f"image {name} has shape {image.shape}; expected gray (H, W) or RGB (H, W, 3)")
    if min(image.shape[:2]) < 2:
        raise StafUserError(f"image {name} is {image.shape[1]}x{image.shape[0]} pixels; an INR needs at least 2x2")
    if size is not None:
        image = resize_image(image, size)
    return np.ascontiguousarray(image, dtype=np.float32)


def _png_bit_depth(path: Path) -> Optional[int]:
    """Bits per channel from a PNG's header (None for other files)."""
    with open(path, "rb") as handle:
        head = handle.read(26)
    return head[24] if len(head) == 26 and head.startswith(b"\x89PNG\r\n\x1a\n") else None


def _read_png16(path: Path) -> np.ndarray:
    """A 16-bit PNG at full precision (OpenCV keeps 16 bits per channel; its BGR(A) order is turned to RGB(A))."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError("OpenCV cannot read it")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA if image.shape[-1] == 4 else cv2.COLOR_BGR2RGB)
    return image


def resize_image(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resizes to ``(height, width)`` with anti-aliasing (used for downscaling and the x4 super-resolution input)."""
    from skimage.transform import resize

    height, width = size
    if height < 2 or width < 2:
        raise StafUserError(f"image size {width}x{height} is too small; use at least 2x2")
    out_shape = (height, width) + image.shape[2:]
    return resize(image, out_shape, order=3, anti_aliasing=True, preserve_range=True).clip(0, 1).astype(np.float32)


def image_to_values(image: np.ndarray) -> Tensor:
    """``(H, W[, C])`` in [0, 1] -> ``(H * W, C)`` in [-1, 1] (the range the networks fit)."""
    channels = 1 if image.ndim == 2 else image.shape[-1]
    return torch.from_numpy(image).reshape(-1, channels) * 2 - 1


def values_to_image(values: Tensor, height: int, width: int) -> np.ndarray:
    """Inverse of :func:`image_to_values`, clipped to [0, 1]."""
    image = ((values.detach().float().cpu() + 1) / 2).clamp(0, 1).reshape(height, width, -1).numpy()
    return image[..., 0] if image.shape[-1] == 1 else image
