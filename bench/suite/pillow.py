"""The anchor for mmrt's exact path: Pillow's own decode + resize, as Hugging Face's CLIP image
processor does it (`Image.open` -> `convert("RGB")` -> `resize(shortest edge, BICUBIC)`), on the
same files. Prints one JSON line: per-iteration ms per image, split into decode and resize.

  /usr/bin/python3 bench/suite/pillow.py --warmup 1 --iterations 3 --shortest-edge 224 a.jpg b.jpg
"""
import argparse
import json
import resource
import time

import PIL
from PIL import Image


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--shortest-edge", type=int, default=224)
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    s = a.shortest_edge
    ms, dec, res, cpu = [], [], [], []
    for it in range(a.warmup + a.iterations):
        d = r = 0.0
        c0 = time.process_time()
        for f in a.files:
            t0 = time.perf_counter()
            im = Image.open(f)
            im = im.convert("RGB")
            t1 = time.perf_counter()
            w, h = im.size
            size = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
            im.resize(size, resample=Image.BICUBIC)
            t2 = time.perf_counter()
            d += t1 - t0
            r += t2 - t1
        if it >= a.warmup:
            n = len(a.files)
            dec.append(1000 * d / n)
            res.append(1000 * r / n)
            ms.append(1000 * (d + r) / n)
            cpu.append(1000 * (time.process_time() - c0) / n)
    print(json.dumps({
        "samples": {"ms": ms, "cpu": cpu, "decodeMs": dec, "resizeMs": res},
        "details": {"pillow": PIL.__version__},
        "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
