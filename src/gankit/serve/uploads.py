"""Uploaded images: the request body read up to a byte cap, then decoded with a pixel cap checked from the header
before any pixel is decoded. Whatever the bytes are, the outcome is a tensor or an UploadError with an HTTP status
and a one-line reason; the reasons are the ones `folder:` datasets give for files they skip."""

from __future__ import annotations

import io
import warnings
from collections.abc import AsyncIterator

import torch
from PIL import Image

from ..data.folder import unreadable_reason
from ..data.transforms import pil_to_tensor, to_mode
from ..errors import GankitError

# The formats an upload may be in. Pillow knows many more; some run external programs (EPS: Ghostscript), none of
# them is an image a user sends to a GAN.
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")


class UploadError(GankitError):
    """An upload refused: the HTTP status it gets (400 unreadable, 413 too large) and why, in one line."""

    def __init__(self, status: int, reason: str):
        self.status = status
        super().__init__(reason)


async def read_body(chunks: AsyncIterator[bytes], declared: str | None, max_bytes: int) -> bytes:
    """The request body, refused as soon as it is known to pass `max_bytes` (a declared Content-Length over the cap
    is refused before a byte is read)."""
    too_large = f"upload too large: at most {max_bytes:,} bytes"
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise UploadError(413, f"{too_large}, got {int(declared):,}")
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > max_bytes:
            raise UploadError(413, too_large)
    return bytes(body)


def read_image(data: bytes, channels: int, max_pixels: int) -> torch.Tensor:
    """Image file bytes -> (1, channels, H, W) floats in [0, 1], upright (EXIF), transparency on white; an
    UploadError for anything else: no bytes, not an image, truncated or damaged (400), more than `max_pixels`
    pixels (413, read from the header: a decompression bomb is refused before it is decompressed)."""
    if not data:
        raise UploadError(400, "not a readable image: not an image (the request body is empty: send the image "
                                "file itself as the body)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise UploadError(413, f"image too large: {width} x {height} = {width * height:,} pixels; "
                                           f"this server takes at most {max_pixels:,}")
                img.load()
                if width < 1 or height < 1:
                    raise UploadError(400, "not a readable image: empty image")
                x = pil_to_tensor(to_mode(img, channels))
    except UploadError:
        raise
    except Image.UnidentifiedImageError:
        raise UploadError(400, f"not a readable image: not an image in a format this server takes "
                               f"({', '.join(FORMATS)})") from None
    except Exception as e:  # Pillow raises many types on hostile input; each is a refusal with its reason
        reason = unreadable_reason(e)
        raise UploadError(413 if reason.startswith("too many pixels") else 400,
                          f"not a readable image: {reason}") from None
    return x[None].float() / 255
