"""Frame images as the stores keep them: JPEG (libjpeg-turbo through simplejpeg) or raw bytes."""

from __future__ import annotations

import numpy as np
import simplejpeg

from vidkit.errors import StoreSchemaError


def encode_image(image: np.ndarray, codec: str, quality: int = 90) -> bytes:
    """`uint8 (H, W, 3)` BGR or `(H, W)` grey -> bytes in the store's codec.

    Colour comes in BGR because that is what the decoder hands over cheapest for OpenCV-style
    pipelines; raw stores RGB bytes so that readers need no conversion. JPEGs are 4:2:0, the
    libjpeg default that frame dumps of UCF101/Kinetics use.
    """
    if image.ndim == 2:
        image = image[..., None]
    if codec == "raw":
        return (image[..., ::-1] if image.shape[-1] == 3 else image).tobytes()
    colour = image.shape[-1] == 3
    return simplejpeg.encode_jpeg(
        np.ascontiguousarray(image),
        quality=quality,
        colorspace="BGR" if colour else "GRAY",
        colorsubsampling="420" if colour else "Gray",
    )


def decode_image_into(out: np.ndarray, data: np.ndarray, codec: str) -> None:
    """Decode one stored image into `out`, a `uint8 (H, W, C)` view (RGB for colour), without a copy.

    libjpeg-turbo through simplejpeg: about twice as fast as OpenCV's or PIL's decoder here, and
    JPEG decoding is most of a clip read.
    """
    if codec == "raw":
        out[...] = data.reshape(out.shape)
        return
    try:
        simplejpeg.decode_jpeg(data, colorspace="RGB" if out.shape[-1] == 3 else "GRAY", buffer=out)
    except ValueError as exc:
        raise StoreSchemaError(f"a stored JPEG does not decode ({exc}): the store is damaged") from exc
