// skindeep web page: pick a photo -> detected ink as a red overlay -> brush/eraser -> remove ->
// before/after slider -> downloads. Plain JS, no build step; talks to the REST API of the same server.
"use strict";

const $ = (id) => document.getElementById(id);
// The mask is edited at most this many pixels on the long side (phones limit canvas sizes); the
// server scales it back up to the photo's full size.
const MAX_WORK_SIDE = 2048;
const INK_RGB = [255, 30, 80];
// The Sensitivity slider moves the threshold on the model's own scale, the log-odds of its ink
// probability: the middle is the model's default threshold and each step is this many log-odds (so
// +-10 steps span e.g. 0.47..0.9996 around a default of 0.98, or 0.02..0.98 around 0.5).
const LOGIT_PER_STEP = 0.4;

const state = {
  file: null, // the photo as chosen (sent untouched, full resolution)
  photoUrl: null,
  detected: null, // Uint8ClampedArray, the mask the server would apply, 0..255, at the work size
  strokes: [], // user edits, replayed over a new detection (sensitivity or face protection changed)
  stroke: null,
  limits: null,
  defaultThreshold: null, // the server's (the model's) own, from /health; null: not known
  urls: [], // object URLs to revoke on the next photo
};
const maskCanvas = $("mask");
const maskCtx = maskCanvas.getContext("2d", { willReadFrequently: true });

// ---------- messages and busy indicator ----------
// <body data-phase>: loading, detecting, ready (mask editable), removing, done, error. For styling
// and for tests, which wait on it instead of guessing how long a request takes.
function setPhase(phase) {
  document.body.dataset.phase = phase;
}

function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = !message;
}

function fail(message) {
  showError(message);
  setPhase("error");
}

function setBusy(message) {
  $("status").hidden = !message;
  $("status-text").textContent = message || "";
  document.querySelectorAll("button, #file").forEach((el) => { el.disabled = Boolean(message); });
  $("stage").classList.toggle("busy", Boolean(message));
  $("compare").classList.toggle("busy", Boolean(message));
}

async function errorText(response) {
  // FastAPI answers {"detail": "..."} or, for parameter validation, {"detail": [{loc, msg}, ...]}.
  let detail = "";
  try {
    const body = await response.json();
    detail = Array.isArray(body.detail)
      ? body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("\n")
      : String(body.detail || "");
  } catch (_) {
    detail = response.statusText;
  }
  if (response.status === 503) {
    const wait = response.headers.get("Retry-After");
    return `The server is busy. Try again${wait ? ` in ${wait} s` : " in a moment"}.\n${detail}`;
  }
  return `Error ${response.status}: ${detail}`;
}

// An error answer of the server; `status` 4xx = the request (e.g. the file) is at fault.
class HttpError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function post(path, form) {
  let response;
  try {
    response = await fetch(path, { method: "POST", body: form });
  } catch (err) {
    throw new Error(`Could not reach the server (${err.message}). Is skindeep serve still running?`);
  }
  if (!response.ok) throw new HttpError(await errorText(response), response.status);
  return response;
}

function track(url) {
  state.urls.push(url);
  return url;
}

// ---------- the sensitivity slider <-> the model's threshold ----------
const logit = (p) => Math.log(p / (1 - p));
const sigmoid = (z) => 1 / (1 + Math.exp(-z));

function thresholdText() {
  // The threshold the slider stands for, as the text shown and sent (4 decimals at most, so the
  // number on screen is exactly the number in the request); "" = the server's default, not known here.
  const step = Number($("sensitivity").value);
  const base = state.defaultThreshold;
  if (step === 0) return base === null ? "" : String(base); // the default itself, no round trip
  // Right = more sensitive = a lower threshold. The clamp keeps a default of 0 or 1 finite.
  const start = logit(Math.min(0.9999, Math.max(1e-4, base === null ? 0.5 : base)));
  return String(Number(sigmoid(start - step * LOGIT_PER_STEP).toFixed(4)));
}

function showThreshold() {
  const text = thresholdText() || "server's";
  const note = Number($("sensitivity").value) === 0 ? " (default)" : "";
  $("threshold-value").textContent = `threshold ${text}${note}`;
}

// ---------- choosing a photo ----------
async function loadLimits() {
  try {
    const health = await (await fetch("/health")).json();
    state.limits = health.limits;
    $("version").textContent = `skindeep ${health.version}`;
    if (typeof health.threshold === "number") state.defaultThreshold = health.threshold;
    $("protect-face").checked = health.protect_face;
  } catch (_) {
    /* the page still works; the server checks the limits anyway */
  }
  showThreshold();
}

function loadImage(img, url) {
  return new Promise((resolve, reject) => {
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("cannot decode"));
    img.src = url;
  });
}

// The first bytes of the formats a browser shows; to say what is wrong with a file it cannot decode.
const SIGNATURES = {
  JPEG: [[0xff, 0xd8, 0xff]],
  PNG: [[0x89, 0x50, 0x4e, 0x47]],
  GIF: [[0x47, 0x49, 0x46, 0x38]],
  WEBP: [[0x52, 0x49, 0x46, 0x46]], // "RIFF" (then "WEBP" at byte 8)
  BMP: [[0x42, 0x4d]],
  TIFF: [[0x49, 0x49, 0x2a, 0x00], [0x4d, 0x4d, 0x00, 0x2a]],
};

function claimedFormat(file) {
  const ext = (file.name.split(".").pop() || "").toLowerCase();
  const byExt = { jpg: "JPEG", jpeg: "JPEG", jfif: "JPEG", png: "PNG", gif: "GIF", webp: "WEBP", bmp: "BMP", tif: "TIFF", tiff: "TIFF" };
  const byType = { "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP", "image/bmp": "BMP", "image/tiff": "TIFF" };
  return byType[file.type] || byExt[ext] || null;
}

async function undecodableText(file) {
  // One sentence naming the file and what is wrong with it, from its first bytes.
  const head = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  const starts = (sig) => sig.every((b, i) => head[i] === b);
  const actual = Object.keys(SIGNATURES).find((name) => SIGNATURES[name].some(starts));
  const claimed = claimedFormat(file);
  if (claimed && actual !== claimed) {
    const what = actual ? `it is a ${actual} file` : "its bytes do not start like one";
    return `"${file.name}" is not a ${claimed}: ${what}. Choose a JPEG, PNG or WEBP photo.`;
  }
  if (actual) {
    return `"${file.name}" is a damaged ${actual} (cut short or corrupt): this browser cannot decode it.`;
  }
  return `"${file.name}" is not an image this browser can show. Choose a JPEG, PNG or WEBP photo.`;
}

function checkFile(file) {
  // An error sentence for a file the page cannot use, or "" for a usable one.
  const mb = (n) => (n / 2 ** 20).toFixed(1);
  if (file.size === 0) return `"${file.name}" is empty (0 bytes). Choose a photo.`;
  if (file.type && !file.type.startsWith("image/")) {
    return `"${file.name}" is not an image (${file.type}). Choose a JPEG, PNG or WEBP photo.`;
  }
  if (state.limits && file.size > state.limits.max_upload_bytes) {
    return `"${file.name}" is ${mb(file.size)} MB; this server takes at most ${mb(state.limits.max_upload_bytes)} MB.`;
  }
  return "";
}

async function pickFile(file) {
  showError("");
  if (!file) return;
  setPhase("loading");
  // Everything is checked on a detached picture first: a bad file leaves the photo being edited, its
  // mask and the strokes as they were.
  const problem = checkFile(file);
  if (problem) return fail(problem);
  const url = URL.createObjectURL(file);
  let img;
  try {
    img = await loadImage(new Image(), url);
  } catch (_) {
    URL.revokeObjectURL(url);
    return fail(await undecodableText(file));
  }
  const pixels = img.naturalWidth * img.naturalHeight;
  if (state.limits && pixels > state.limits.max_pixels) {
    URL.revokeObjectURL(url);
    return fail(`"${file.name}" has ${(pixels / 1e6).toFixed(1)} megapixels; this server takes at most ${(state.limits.max_pixels / 1e6).toFixed(1)}.`);
  }
  const scale = Math.min(1, MAX_WORK_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
  const width = Math.max(1, Math.round(img.naturalWidth * scale));
  const height = Math.max(1, Math.round(img.naturalHeight * scale));
  // The server is asked before the new photo replaces the old one: a file it refuses (a JPEG the
  // browser shows but that is cut short, say) leaves the work on the old photo as it was.
  const [detected, detectError] = await askDetection(file, width, height);
  if (detectError instanceof HttpError && detectError.status < 500) {
    URL.revokeObjectURL(url);
    return fail(detectError.message);
  }
  state.urls.forEach((old) => URL.revokeObjectURL(old));
  state.urls = [];
  state.file = file;
  state.strokes = [];
  state.photoUrl = track(url);
  $("result").hidden = true;
  await loadImage($("photo"), url);
  maskCanvas.width = width;
  maskCanvas.height = height;
  $("editor").hidden = false;
  $("pick").classList.add("compact");
  document.querySelector("#drop strong").textContent = "Drop another photo here";
  // The editor's top at the top of the window: the photo, the tools and Remove in one view.
  $("editor").scrollIntoView({ block: "start" });
  showDetection(detected, detectError);
}

async function fetchDetection(file, width, height) {
  // The mask the server would apply to `file` at the slider's threshold, as a Uint8ClampedArray
  // (width * height, 0..255) at the work size; throws HttpError or Error.
  await healthLoaded; // the slider's middle is the server's threshold: know it before asking
  const form = new FormData();
  form.append("image", file, file.name);
  const threshold = thresholdText();
  if (threshold) form.append("threshold", threshold);
  form.append("protect_face", $("protect-face").checked ? "true" : "false");
  const blob = await (await post("/v1/detect", form)).blob();
  const bitmap = await createImageBitmap(blob);
  const scratch = document.createElement("canvas");
  scratch.width = width;
  scratch.height = height;
  const ctx = scratch.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const mask = new Uint8ClampedArray(width * height);
  for (let i = 0; i < mask.length; i++) mask[i] = rgba[i * 4];
  return mask;
}

function showDetection(detected, error) {
  // Without a detection (server busy, unreachable) the user can still paint the mask by hand.
  state.detected = detected;
  redrawMask();
  if (error) showError(`${error.message}\nYou can still paint the tattoo by hand and press "Remove tattoo".`);
  setPhase("ready");
}

async function askDetection(file, width, height) {
  // fetchDetection with the busy indicator on: [mask, null] or [null, the error].
  setPhase("detecting");
  setBusy("Finding the ink…");
  try {
    return [await fetchDetection(file, width, height), null];
  } catch (err) {
    return [null, err];
  } finally {
    setBusy("");
  }
}

async function detect() {
  // Asks again for the photo being edited (new sensitivity or face setting); the strokes are kept.
  showDetection(...(await askDetection(state.file, maskCanvas.width, maskCanvas.height)));
}

// ---------- the mask: the server's detection + the user's brush strokes replayed on top ----------
function redrawMask() {
  const { width, height } = maskCanvas;
  const image = maskCtx.createImageData(width, height);
  if (state.detected) {
    for (let i = 0; i < state.detected.length; i++) {
      if (state.detected[i] > 0) {
        image.data.set(INK_RGB, i * 4);
        image.data[i * 4 + 3] = state.detected[i];
      }
    }
  }
  maskCtx.putImageData(image, 0, 0);
  state.strokes.forEach(drawStroke);
  showInkShare();
}

function inkShare() {
  // Fraction of the photo the mask covers now (detection and strokes), 0..1.
  const alpha = maskCtx.getImageData(0, 0, maskCanvas.width, maskCanvas.height).data;
  let inked = 0;
  for (let i = 3; i < alpha.length; i += 4) if (alpha[i]) inked++;
  return inked / (alpha.length / 4);
}

function showInkShare() {
  const share = inkShare();
  $("mask-info").textContent = share
    ? `Ink marked on ${(100 * share).toFixed(1)} % of the photo.`
    : "The mask is empty. Paint over the tattoo with the Brush, or move Sensitivity to the right.";
}

function drawStroke(stroke) {
  maskCtx.save();
  maskCtx.globalCompositeOperation = stroke.tool === "eraser" ? "destination-out" : "source-over";
  maskCtx.strokeStyle = maskCtx.fillStyle = `rgb(${INK_RGB.join(",")})`;
  maskCtx.lineWidth = stroke.size;
  maskCtx.lineCap = maskCtx.lineJoin = "round";
  const [first, ...rest] = stroke.points;
  maskCtx.beginPath();
  if (rest.length === 0) {
    maskCtx.arc(first[0], first[1], stroke.size / 2, 0, 2 * Math.PI);
    maskCtx.fill();
  } else {
    maskCtx.moveTo(first[0], first[1]);
    rest.forEach(([x, y]) => maskCtx.lineTo(x, y));
    maskCtx.stroke();
  }
  maskCtx.restore();
}

function canvasPoint(event) {
  const rect = maskCanvas.getBoundingClientRect();
  const scale = maskCanvas.width / rect.width;
  return { x: (event.clientX - rect.left) * scale, y: (event.clientY - rect.top) * scale, scale, rect };
}

function moveCursor(event) {
  const cursor = $("cursor");
  const rect = maskCanvas.getBoundingClientRect();
  const size = Number($("brush-size").value);
  cursor.hidden = false;
  Object.assign(cursor.style, {
    left: `${event.clientX - rect.left}px`, top: `${event.clientY - rect.top}px`,
    width: `${size}px`, height: `${size}px`,
  });
}

function currentTool() {
  return document.querySelector("input[name=tool]:checked").value;
}

function applyTool() {
  // Scroll: the canvas lets touches through to the page (CSS touch-action) and ignores pointers.
  $("stage").classList.toggle("painting", currentTool() !== "scroll");
}

maskCanvas.addEventListener("pointerdown", (event) => {
  const tool = currentTool();
  if (!state.file || tool === "scroll") return;
  event.preventDefault();
  maskCanvas.setPointerCapture(event.pointerId);
  const p = canvasPoint(event);
  // The brush size is in screen pixels, so it feels the same however large the photo is.
  state.stroke = { tool, size: Number($("brush-size").value) * p.scale, points: [[p.x, p.y]] };
  state.strokes.push(state.stroke);
  drawStroke(state.stroke);
});

maskCanvas.addEventListener("pointermove", (event) => {
  moveCursor(event);
  if (!state.stroke) return;
  const p = canvasPoint(event);
  const last = state.stroke.points[state.stroke.points.length - 1];
  state.stroke.points.push([p.x, p.y]);
  drawStroke({ ...state.stroke, points: [last, [p.x, p.y]] });
});

for (const type of ["pointerup", "pointercancel"]) {
  maskCanvas.addEventListener(type, () => {
    if (!state.stroke) return;
    state.stroke = null;
    showInkShare();
  });
}
maskCanvas.addEventListener("pointerleave", () => { $("cursor").hidden = true; });

// A new sensitivity or face setting asks the server again; the user's strokes are kept.
$("sensitivity").addEventListener("input", showThreshold);
$("sensitivity").addEventListener("change", () => state.file && detect());
document.querySelectorAll("input[name=tool]").forEach((radio) => radio.addEventListener("change", applyTool));
$("error-close").addEventListener("click", () => showError(""));
$("protect-face").addEventListener("change", () => state.file && detect());
$("reset-mask").addEventListener("click", () => { state.strokes = []; redrawMask(); });
function undo() {
  if (state.strokes.length) {
    state.strokes.pop();
    redrawMask();
  }
}
$("undo").addEventListener("click", undo);
window.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "z" && !$("editor").hidden) {
    event.preventDefault();
    undo();
  }
});
$("clear-mask").addEventListener("click", () => {
  // An eraser stroke over everything, so it survives a later change of sensitivity.
  const { width, height } = maskCanvas;
  state.strokes.push({ tool: "eraser", size: 2 * (width + height), points: [[width / 2, height / 2]] });
  redrawMask();
});

function maskBlob() {
  // White where the overlay is painted, black elsewhere: what the API takes as `mask`.
  const { width, height } = maskCanvas;
  const overlay = maskCtx.getImageData(0, 0, width, height).data;
  const out = document.createElement("canvas");
  out.width = width;
  out.height = height;
  const ctx = out.getContext("2d");
  const image = ctx.createImageData(width, height);
  for (let i = 0; i < overlay.length; i += 4) {
    const a = overlay[i + 3];
    image.data[i] = image.data[i + 1] = image.data[i + 2] = a;
    image.data[i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return new Promise((resolve) => out.toBlob(resolve, "image/png"));
}

// ---------- removal and result ----------
function base64Blob({ base64, media_type: type }) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type });
}

function setDownload(link, part) {
  link.href = track(URL.createObjectURL(base64Blob(part)));
  link.download = part.filename;
  return link.href;
}

async function removeTattoo() {
  showError("");
  if (!inkShare()) {
    fail("The mask is empty, so there is nothing to remove. Paint over the tattoo with the brush first.");
    return;
  }
  setPhase("removing");
  setBusy("Removing the tattoo… (a few seconds on a CPU)");
  try {
    const form = new FormData();
    form.append("image", state.file, state.file.name);
    form.append("mask", await maskBlob(), "mask.png");
    // The painted mask is final: the server uses it as it is instead of detecting again.
    form.append("mask_mode", "replace");
    form.append("protect_face", $("protect-face").checked ? "true" : "false");
    form.append("output", "json");
    const body = await (await post("/v1/remove", form)).json();
    const afterUrl = setDownload($("dl-result"), body.image);
    setDownload($("dl-mask"), body.mask);
    setDownload($("dl-layer"), body.layer);
    await Promise.all([loadImage($("before"), state.photoUrl), loadImage($("after"), afterUrl)]);
    $("result-info").textContent =
      `${body.width} × ${body.height} px, done in ${body.seconds.toFixed(1)} s. Drag the slider to compare.`;
    $("result").hidden = false;
    setCompare(50);
    $("result").scrollIntoView({ block: "start" });
    setBusy("");
    setPhase("done");
  } catch (err) {
    setBusy("");
    fail(err.message);
  }
}

function setCompare(percent) {
  $("compare-slider").value = percent;
  $("after-clip").style.clipPath = `inset(0 0 0 ${percent}%)`;
  $("divider").style.left = `${percent}%`;
}

$("compare-slider").addEventListener("input", (event) => setCompare(Number(event.target.value)));
$("compare").addEventListener("pointerdown", (event) => {
  // Dragging on the picture itself moves the divider too (handy on a phone).
  const compare = $("compare");
  compare.setPointerCapture(event.pointerId);
  const follow = (e) => {
    const rect = compare.getBoundingClientRect();
    setCompare(Math.max(0, Math.min(100, ((e.clientX - rect.left) / rect.width) * 100)));
  };
  // A mouse click jumps the divider there; a finger moves it only once it drags sideways, so a
  // swipe up or down (which scrolls, CSS touch-action) leaves it where it was.
  if (event.pointerType !== "touch") follow(event);
  compare.onpointermove = follow;
  compare.onpointerup = compare.onpointercancel = () => { compare.onpointermove = null; };
});

$("remove").addEventListener("click", removeTattoo);
$("another").addEventListener("click", () => { $("file").value = ""; $("file").click(); });
$("file").addEventListener("change", (event) => pickFile(event.target.files[0]));

const drop = $("drop");
["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (event) => {
  event.preventDefault();
  drop.classList.add("over");
}));
["dragleave", "drop"].forEach((type) => drop.addEventListener(type, () => drop.classList.remove("over")));
drop.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") { event.preventDefault(); $("file").click(); }
});
// A photo dropped anywhere (the drop zone included) is taken; the browser must not open it instead.
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer.files.length) pickFile(event.dataTransfer.files[0]);
});

// A finger or pen on a phone or tablet starts in Scroll mode, so a swipe scrolls the page; painting is
// a tap on Brush away. A mouse cannot scroll by dragging, so it starts with the brush.
if (window.matchMedia("(pointer: coarse)").matches) $("tool-scroll").checked = true;
applyTool();
const healthLoaded = loadLimits();
