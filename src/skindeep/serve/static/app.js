// skindeep web page: pick a photo -> detected ink as a red overlay -> brush/eraser -> remove ->
// before/after slider -> downloads. Plain JS, no build step; talks to the REST API of the same server.
"use strict";

const $ = (id) => document.getElementById(id);
// The mask is edited at most this many pixels on the long side (phones limit canvas sizes); the
// server scales it back up to the photo's full size.
const MAX_WORK_SIDE = 2048;
const INK_RGB = [255, 30, 80];

const state = {
  file: null, // the photo as chosen (sent untouched, full resolution)
  photoUrl: null,
  detected: null, // Uint8ClampedArray, the mask the server would apply, 0..255, at the work size
  strokes: [], // user edits, replayed over a new detection (sensitivity or face protection changed)
  stroke: null,
  limits: null,
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
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
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

async function post(path, form) {
  let response;
  try {
    response = await fetch(path, { method: "POST", body: form });
  } catch (err) {
    throw new Error(`Could not reach the server (${err.message}). Is skindeep serve still running?`);
  }
  if (!response.ok) throw new Error(await errorText(response));
  return response;
}

function track(url) {
  state.urls.push(url);
  return url;
}

// ---------- choosing a photo ----------
async function loadLimits() {
  try {
    const health = await (await fetch("/health")).json();
    state.limits = health.limits;
    $("version").textContent = `skindeep ${health.version}`;
    // The slider shows sensitivity: more to the right = more marked as ink = a lower threshold.
    $("threshold").value = 1 - health.threshold;
    $("protect-face").checked = health.protect_face;
  } catch (_) {
    /* the page still works; the server checks the limits anyway */
  }
}

function loadImage(img, url) {
  return new Promise((resolve, reject) => {
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("This browser cannot show that file. Use a JPEG, PNG or WEBP photo."));
    img.src = url;
  });
}

async function pickFile(file) {
  showError("");
  if (!file) return;
  setPhase("loading");
  if (file.type && !file.type.startsWith("image/")) {
    fail(`"${file.name}" is not an image (${file.type}). Choose a JPEG, PNG or WEBP photo.`);
    return;
  }
  if (state.limits && file.size > state.limits.max_upload_bytes) {
    const mb = (n) => (n / 2 ** 20).toFixed(1);
    fail(`"${file.name}" is ${mb(file.size)} MB; this server takes at most ${mb(state.limits.max_upload_bytes)} MB.`);
    return;
  }
  state.urls.forEach((url) => URL.revokeObjectURL(url));
  state.urls = [];
  state.file = file;
  state.strokes = [];
  state.photoUrl = track(URL.createObjectURL(file));
  $("result").hidden = true;
  document.querySelector("main").classList.remove("has-result");
  try {
    const img = await loadImage($("photo"), state.photoUrl);
    const pixels = img.naturalWidth * img.naturalHeight;
    if (state.limits && pixels > state.limits.max_pixels) {
      throw new Error(`"${file.name}" has ${(pixels / 1e6).toFixed(1)} megapixels; this server takes at most ${(state.limits.max_pixels / 1e6).toFixed(1)}.`);
    }
    const scale = Math.min(1, MAX_WORK_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
    maskCanvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
    maskCanvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
    $("editor").hidden = false;
    $("pick").classList.add("compact");
    document.querySelector("#drop strong").textContent = "Drop another photo here";
    await detect();
  } catch (err) {
    // Nothing usable to edit: hide the editor rather than show a broken picture.
    state.file = null;
    $("editor").hidden = true;
    fail(err.message);
  }
}

async function detect() {
  setPhase("detecting");
  setBusy("Finding the ink…");
  try {
    const form = new FormData();
    form.append("image", state.file, state.file.name);
    form.append("threshold", (1 - Number($("threshold").value)).toFixed(3));
    form.append("protect_face", $("protect-face").checked ? "true" : "false");
    const blob = await (await post("/v1/detect", form)).blob();
    const bitmap = await createImageBitmap(blob);
    const scratch = document.createElement("canvas");
    scratch.width = maskCanvas.width;
    scratch.height = maskCanvas.height;
    const ctx = scratch.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0, scratch.width, scratch.height);
    const rgba = ctx.getImageData(0, 0, scratch.width, scratch.height).data;
    state.detected = new Uint8ClampedArray(rgba.length / 4);
    let inked = 0;
    for (let i = 0; i < state.detected.length; i++) {
      state.detected[i] = rgba[i * 4];
      if (state.detected[i]) inked++;
    }
    $("mask-info").textContent = inked
      ? `Ink found on ${((100 * inked) / state.detected.length).toFixed(1)} % of the photo.`
      : "No ink found. Paint over the tattoo with the brush, or move Sensitivity to the right.";
    redrawMask();
  } catch (err) {
    // Without a detection the user can still paint the mask by hand.
    state.detected = null;
    redrawMask();
    showError(`${err.message}\nYou can still paint the tattoo by hand and press "Remove tattoo".`);
  } finally {
    setBusy("");
    setPhase("ready");
  }
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

maskCanvas.addEventListener("pointerdown", (event) => {
  if (!state.file) return;
  event.preventDefault();
  maskCanvas.setPointerCapture(event.pointerId);
  const p = canvasPoint(event);
  const tool = document.querySelector("input[name=tool]:checked").value;
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
  maskCanvas.addEventListener(type, () => { state.stroke = null; });
}
maskCanvas.addEventListener("pointerleave", () => { $("cursor").hidden = true; });

// A new sensitivity or face setting asks the server again; the user's strokes are kept.
$("threshold").addEventListener("change", () => state.file && detect());
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

function maskIsEmpty() {
  const alpha = maskCtx.getImageData(0, 0, maskCanvas.width, maskCanvas.height).data;
  for (let i = 3; i < alpha.length; i += 4) if (alpha[i]) return false;
  return true;
}

async function removeTattoo() {
  showError("");
  if (maskIsEmpty()) {
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
    document.querySelector("main").classList.add("has-result");
    setCompare(50);
    $("result").scrollIntoView({ behavior: "smooth", block: "start" });
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
  follow(event);
  compare.onpointermove = follow;
  compare.onpointerup = compare.onpointercancel = () => { compare.onpointermove = null; };
});
$("compare").style.touchAction = "none";

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

loadLimits();
