"""The comparison server for bench/process_bench.sh: POST /api/v1/process the way a plain Python
service does it (Flask + OpenCV behind gunicorn's sync workers), the kind of server PixHive
replaces. It does the same work per request as PixHive's processing service: the same decode
(cv2.imdecode, IMREAD_COLOR), the same operations with the same parameters, defaults, checks and
algorithms (libs/imaging/src/operations.cpp), then one encode.

Start it with Debian's gunicorn (python3-flask, python3-opencv and gunicorn from scripts/bootstrap):

    gunicorn -w 2 -b 127.0.0.1:PORT --chdir bench/compare server:app

Routes:
    POST /api/v1/process  multipart form: image (file), operation, params (optional JSON object
                          text), format (optional: png, jpeg or webp; without it the Accept header
                          decides as in PixHive, png by default). Answers the encoded image.
    GET  /healthz         200 "ok".
Errors are 400 with {"error": {"code": ..., "message": ...}} (PixHive's error body; PixHive
answers 422 for an undecodable image where this answers 400). The Authorization header is
ignored: there are no accounts.

Operations: edge_detection, corner_detection, gaussian_blur, median_blur, fourier_transform,
contrast_enhancement, invert, grayscale, resize, rotate (not background_removal or
text_detection).

Encoding: what such a server would use, OpenCV's defaults: PNG with no parameters (Sub filter,
zlib level 1, RLE strategy), JPEG quality 85 (PixHive's), WebP quality 85 (libwebp method 4).
PixHive writes PNG through libdeflate and JPEG through libjpeg-turbo's API at the same quality
(libs/imaging/src/codec.cpp).
"""

import json
import math
import os

import cv2
import numpy as np
from flask import Flask, Response, request

app = Flask(__name__)

JPEG_QUALITY = 85  # PixHive's imaging::encode default (JPEG and WebP)
WEBP_QUALITY = 85


class BadRequest(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


# --- parameters: the specs and checks of operations.cpp (make_operations, validate) ---


def integer(name, lo, hi, default, odd=False):
    return {"name": name, "type": "integer", "min": lo, "max": hi, "default": default, "odd": odd}


def number(name, lo, hi, default):
    return {"name": name, "type": "number", "min": lo, "max": hi, "default": default}


def boolean(name, default):
    return {"name": name, "type": "boolean", "default": default}


def choice(name, values, default):
    return {"name": name, "type": "enum", "values": values, "default": default}


SPECS = {
    "edge_detection": [
        number("threshold1", 0, 1000, 100),
        number("threshold2", 0, 1000, 200),
        integer("aperture", 3, 7, 3, odd=True),
        boolean("l2_gradient", False),
    ],
    "corner_detection": [
        choice("method", ["harris", "shi_tomasi"], "harris"),
        integer("block_size", 2, 31, 2),
        integer("ksize", 1, 31, 3, odd=True),
        number("k", 0.01, 0.3, 0.04),
        number("threshold", 0.001, 1, 0.01),
        integer("max_corners", 1, 10000, 500),
    ],
    "gaussian_blur": [integer("kernel", 1, 99, 5, odd=True), number("sigma", 0, 100, 0)],
    "median_blur": [integer("kernel", 1, 99, 5, odd=True)],
    "fourier_transform": [],
    "contrast_enhancement": [
        choice("mode", ["gray", "luma", "clahe"], "luma"),
        number("clip_limit", 0.1, 40, 2),
        integer("tile", 1, 64, 8),
    ],
    "invert": [],
    "grayscale": [],
    "resize": [
        integer("width", 0, 16384, 0),
        integer("height", 0, 16384, 0),
        boolean("keep_aspect", True),
        choice("interpolation", ["area", "linear", "cubic", "lanczos"], "area"),
    ],
    "rotate": [number("angle", -360, 360, 90), boolean("expand", True)],
}


def bad_param(op, p):
    why = f"parameter '{p['name']}' of {op} must be "
    if p["type"] == "boolean":
        why += "true or false"
    elif p["type"] == "enum":
        why += "one of " + ", ".join(p["values"])
    else:
        article = "an odd " if p.get("odd") else "an " if p["type"] == "integer" else "a "
        why += f"{article}{p['type']} in [{p['min']}, {p['max']}]"
    return BadRequest("invalid_parameter", why)


def validate(op, text):
    """The parameters of `op` with defaults filled in, checked as PixHive's validate() does."""
    if op not in SPECS:
        raise BadRequest(
            "unknown_operation", f"unknown operation '{op}'; known: {', '.join(SPECS)}"
        )
    params = None
    if text:
        try:
            params = json.loads(text)
        except ValueError:
            params = None
        if not isinstance(params, dict):
            raise BadRequest("invalid_parameter", "params must be a JSON object")
    specs = SPECS[op]
    names = {p["name"] for p in specs}
    for name in params or {}:
        if name not in names:
            raise BadRequest("invalid_parameter", f"unknown parameter '{name}' of {op}")
    out = {}
    for p in specs:
        v = params[p["name"]] if params and p["name"] in params else p["default"]
        if p["type"] == "boolean":
            if not isinstance(v, bool):
                raise bad_param(op, p)
        elif p["type"] == "enum":
            if not isinstance(v, str) or v not in p["values"]:
                raise bad_param(op, p)
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise bad_param(op, p)
            d = float(v)
            if not math.isfinite(d) or d < p["min"] or d > p["max"]:
                raise bad_param(op, p)
            if p["type"] == "integer":
                if d != math.floor(d):
                    raise bad_param(op, p)
                if p.get("odd") and int(d) % 2 == 0:
                    raise bad_param(op, p)
                v = int(d)
            else:
                v = d
        out[p["name"]] = v
    return out


# --- operations: the algorithms of operations.cpp ---


def to_gray(img):
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def edge_detection(img, p):
    return cv2.Canny(
        to_gray(img), p["threshold1"], p["threshold2"], apertureSize=p["aperture"],
        L2gradient=p["l2_gradient"],
    )


def corner_detection(img, p):
    corners = cv2.goodFeaturesToTrack(
        to_gray(img), maxCorners=p["max_corners"], qualityLevel=p["threshold"],
        minDistance=max(3, p["block_size"]), mask=None, blockSize=p["block_size"],
        gradientSize=p["ksize"], useHarrisDetector=p["method"] == "harris", k=p["k"],
    )
    out = img.copy()
    radius = max(3, min(img.shape[1], img.shape[0]) // 100)
    for x, y in (corners.reshape(-1, 2) if corners is not None else []):
        # cv::Point2f -> cv::Point rounds half to even (cvRound), as Python's round() does.
        cv2.circle(out, (round(float(x)), round(float(y))), radius, (0, 0, 255),
                   max(1, radius // 3), cv2.LINE_AA)
    return out


def gaussian_blur(img, p):
    k = p["kernel"]
    return cv2.GaussianBlur(img, (k, k), p["sigma"])


def median_blur(img, p):
    return cv2.medianBlur(img, p["kernel"])


def fourier_transform(img, p):
    gray = to_gray(img)
    rows, cols = cv2.getOptimalDFTSize(gray.shape[0]), cv2.getOptimalDFTSize(gray.shape[1])
    padded = cv2.copyMakeBorder(gray, 0, rows - gray.shape[0], 0, cols - gray.shape[1],
                                cv2.BORDER_CONSTANT, value=0)
    planes = [padded.astype(np.float32), np.zeros(padded.shape, np.float32)]
    complex_ = cv2.dft(cv2.merge(planes))
    re, im = cv2.split(complex_)
    mag = cv2.magnitude(re, im)
    mag += 1
    mag = cv2.log(mag)
    mag = mag[: mag.shape[0] & -2, : mag.shape[1] & -2]
    # Swap quadrants so that the zero frequency sits in the centre.
    cy, cx = mag.shape[0] // 2, mag.shape[1] // 2
    q0, q1 = mag[:cy, :cx].copy(), mag[:cy, cx:].copy()
    mag[:cy, :cx] = mag[cy:, cx:]
    mag[cy:, cx:] = q0
    mag[:cy, cx:] = mag[cy:, :cx]
    mag[cy:, :cx] = q1
    return cv2.normalize(mag, None, 0, 255, cv2.NORM_MINMAX, cv2.CV_8U)


def contrast_enhancement(img, p):
    if p["mode"] == "gray":
        return cv2.equalizeHist(to_gray(img))
    ch = list(cv2.split(cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb)))
    if p["mode"] == "luma":
        ch[0] = cv2.equalizeHist(ch[0])
    else:
        t = p["tile"]
        ch[0] = cv2.createCLAHE(p["clip_limit"], (t, t)).apply(ch[0])
    return cv2.cvtColor(cv2.merge(ch), cv2.COLOR_YCrCb2BGR)


def invert(img, p):
    return cv2.bitwise_not(img)


def grayscale(img, p):
    return to_gray(img)


def lround(x):
    """std::lround: halves away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


FILTERS = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC,
           "lanczos": cv2.INTER_LANCZOS4}


def resize(img, p):
    rows, cols = img.shape[:2]
    w, h = p["width"], p["height"]
    if w == 0 and h == 0:
        raise BadRequest("invalid_parameter",
                         "resize needs 'width' or 'height' (integers in [1, 16384])")
    sx = w / cols if w else h / rows
    sy = h / rows if h else sx
    if not w:
        sx = sy
    if p["keep_aspect"]:
        sx = sy = min(sx, sy)
    out_w = max(1, lround(cols * sx))
    out_h = max(1, lround(rows * sy))
    if not p["keep_aspect"]:
        out_w = w or out_w
        out_h = h or out_h
    if out_w * out_h > 100e6:
        raise BadRequest("invalid_parameter", "resize result must be at most 100 megapixels")
    f = FILTERS[p["interpolation"]]
    # Area averaging only makes sense for shrinking.
    if f == cv2.INTER_AREA and (out_w > cols or out_h > rows):
        f = cv2.INTER_LINEAR
    return cv2.resize(img, (out_w, out_h), interpolation=f)


def rotate(img, p):
    angle = math.fmod(p["angle"] + 720.0, 360.0)
    # Right angles are exact pixel moves, no resampling.
    if angle == 0:
        return img.copy()
    right = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
    if angle in right:
        return cv2.rotate(img, right[angle])
    rows, cols = img.shape[:2]
    centre = (np.float32(cols / 2.0), np.float32(rows / 2.0))
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, 1.0)
    size = (cols, rows)
    if p["expand"]:
        # cv::RotatedRect(Point2f(), size, angle).boundingRect2f(), in floats as there.
        pts = cv2.boxPoints(((0.0, 0.0), (float(cols), float(rows)), float(np.float32(angle))))
        bw = np.float32(pts[:, 0].max() - pts[:, 0].min())
        bh = np.float32(pts[:, 1].max() - pts[:, 1].min())
        m[0, 2] += float(bw) / 2.0 - float(centre[0])
        m[1, 2] += float(bh) / 2.0 - float(centre[1])
        size = (int(math.ceil(bw)), int(math.ceil(bh)))
    return cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0, 0))


OPERATIONS = {
    "edge_detection": edge_detection,
    "corner_detection": corner_detection,
    "gaussian_blur": gaussian_blur,
    "median_blur": median_blur,
    "fourier_transform": fourier_transform,
    "contrast_enhancement": contrast_enhancement,
    "invert": invert,
    "grayscale": grayscale,
    "resize": resize,
    "rotate": rotate,
}


# --- decode and encode: libs/imaging/src/codec.cpp ---


def decode_reduction(op, p, width, height):
    """PixHive decodes smaller for resize when the target is a fraction of the photo."""
    if op != "resize":
        return 1
    wanted = max(p["width"], p["height"])
    if wanted <= 0:
        return 1
    for r in (8, 4, 2):
        if min(width, height) // r >= wanted:
            return r
    return 1


REDUCED = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
           8: cv2.IMREAD_REDUCED_COLOR_8}


def header_size(data):
    """(width, height) from a JPEG's SOF or a PNG's IHDR without decoding, else None (PixHive's
    sniff_image reads the header the same way before it decides how small to decode)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        m, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return width, int.from_bytes(data[i + 5 : i + 7], "big")
        i += 2 + length
    return None


def decode(data, op, p):
    reduction = 1
    size = header_size(data) if op == "resize" else None
    if size:
        reduction = decode_reduction(op, p, *size)
    buf = np.frombuffer(data, np.uint8)
    img = cv2.imdecode(buf, REDUCED[reduction]) if buf.size else None
    if img is None:
        raise BadRequest("undecodable_image",
                         "the image cannot be decoded (corrupt data or an unsupported encoding)")
    return img


FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "webp": "webp"}
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def choose_format(name, accept):
    if not name:
        # imaging::from_accept: the first of our types the header names wins, png by default.
        found = [(accept.find(t), f) for f, t in CONTENT_TYPES.items() if t in accept]
        return min(found)[1] if found else "png"
    if name not in FORMATS:
        raise BadRequest("invalid_format", "format must be one of png, jpeg, webp")
    return FORMATS[name]


def encode(img, fmt):
    if fmt == "png":
        ok, buf = cv2.imencode(".png", img)
    elif fmt == "jpeg":
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    else:
        ok, buf = cv2.imencode(".webp", img, [cv2.IMWRITE_WEBP_QUALITY, WEBP_QUALITY])
    if not ok:
        raise RuntimeError("cannot encode the result as " + fmt)
    return buf.tobytes()


# --- routes ---


def error(status, code, message):
    body = json.dumps({"error": {"code": code, "message": message}}) + "\n"
    return Response(body, status=status, mimetype="application/json")


@app.get("/healthz")
def healthz():
    return "ok\n"


@app.post("/api/v1/process")
def process():
    try:
        image = request.files.get("image")
        if image is None:
            raise BadRequest("missing_field", "the form needs an 'image' part")
        op = request.form.get("operation")
        if not op:
            raise BadRequest("missing_field", "the form needs an 'operation' part")
        params = validate(op, request.form.get("params", ""))
        fmt = choose_format(request.form.get("format", ""), request.headers.get("Accept", ""))
        img = decode(image.read(), op, params)
        try:
            out = OPERATIONS[op](img, params)
        except cv2.error as e:
            raise BadRequest("operation_failed", f"{op} failed on this image: {e}")
        return Response(encode(out, fmt), mimetype=CONTENT_TYPES[fmt])
    except BadRequest as e:
        return error(400, e.code, e.message)
