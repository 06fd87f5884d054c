"""CLIPImageProcessor, the way Hugging Face Python (transformers) does it with Pillow:
convert RGB -> resize shortest edge (PIL bicubic, long side int(S * long / short)) ->
center crop (top = (H - h) // 2, left = (W - w) // 2) -> x / 255 -> (x - mean) / std -> CHW.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def clip_processor_config(size: int, crop: int | None = None, processor_class: str | None = None) -> dict:
    crop = crop or size
    cfg = {
        "image_processor_type": "CLIPImageProcessor",
        "feature_extractor_type": "CLIPFeatureExtractor",
        "do_convert_rgb": True,
        "do_resize": True,
        "size": {"shortest_edge": size},
        "resample": 3,
        "do_center_crop": True,
        "crop_size": {"height": crop, "width": crop},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
    }
    if processor_class:
        cfg["processor_class"] = processor_class
    return cfg


def resize_shortest_edge(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    if (nw, nh) == (w, h):
        return img
    return img.resize((nw, nh), resample=Image.BICUBIC)


def center_crop(arr: np.ndarray, ch: int, cw: int) -> np.ndarray:
    h, w = arr.shape[:2]
    if h < ch or w < cw:  # HF pads with zeros around; not needed for shortest-edge >= crop
        raise ValueError("image smaller than crop")
    top, left = (h - ch) // 2, (w - cw) // 2
    return arr[top : top + ch, left : left + cw]


def to_uint8_crop(img: Image.Image, size: int, crop: int | None = None) -> np.ndarray:
    """Resize + crop, HWC uint8 (the cheap part to cache for training)."""
    crop = crop or size
    img = resize_shortest_edge(img.convert("RGB"), size)
    return np.ascontiguousarray(center_crop(np.asarray(img), crop, crop))


def to_uint8_squash(img: Image.Image, size: int) -> np.ndarray:
    """BlipImageProcessor's resize: to size x size whatever the aspect ratio (PIL bicubic), HWC uint8."""
    img = img.convert("RGB")
    if img.size != (size, size):
        img = img.resize((size, size), resample=Image.BICUBIC)
    return np.ascontiguousarray(np.asarray(img))


def blip_processor_config(size: int, processor_class: str = "BlipProcessor") -> dict:
    """BlipImageProcessor's preprocessor_config.json: squash to size x size, CLIP mean/std, no crop."""
    return {
        "image_processor_type": "BlipImageProcessor",
        "processor_class": processor_class,
        "do_convert_rgb": True,
        "do_resize": True,
        "size": {"height": size, "width": size},
        "resample": 3,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
    }


def blip_pixel_values(img: Image.Image, size: int) -> np.ndarray:
    return normalize(to_uint8_squash(img, size))


def normalize(arr_u8: np.ndarray) -> np.ndarray:
    """HWC uint8 (or NHWC) -> CHW (NCHW) float32 normalized."""
    x = arr_u8.astype(np.float64) * (1 / 255)
    x = x.astype(np.float32)
    mean = np.array(OPENAI_CLIP_MEAN, np.float32)
    std = np.array(OPENAI_CLIP_STD, np.float32)
    x = (x - mean) / std
    return np.moveaxis(x, -1, -3).astype(np.float32)


def pixel_values(img: Image.Image, size: int, crop: int | None = None) -> np.ndarray:
    return normalize(to_uint8_crop(img, size, crop))
