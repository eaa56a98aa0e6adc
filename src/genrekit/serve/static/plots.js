// Drawing on <canvas>: the genre timeline, images (spectrogram, MFCC) and
// line plots (zero-crossing rate, centroid). Every plot spans its canvas's
// full width from time 0 to its span, with no inner margin, so a cursor
// placed at t / span of the width lines up with what is drawn.

import { labelColour } from "./common.js";

/** Size a canvas's backing store to its displayed size (sharp on high-DPI screens); returns its 2-D context. */
export function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const context = canvas.getContext("2d");
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, width, height);
  return context;
}

function cssColour(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

// Perceptually even colour maps as a few stops, interpolated.
const VIRIDIS = [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [110, 206, 88], [181, 222, 43], [253, 231, 37]];
const DIVERGING = [[33, 102, 172], [103, 169, 207], [209, 229, 240], [247, 247, 247],
  [253, 219, 199], [239, 138, 98], [178, 24, 43]];

function mapColour(stops, x) {
  const t = Math.min(1, Math.max(0, Number.isFinite(x) ? x : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(t));
  const f = t - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

function finiteRange(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/**
 * Draw a (rows x frames) matrix as an image, row 0 at the bottom.
 * mode "range": one colour scale from the matrix's min to max (the spectrogram in dB);
 * mode "rows": each row scaled on its own, around its mean (MFCCs, whose first coefficient dwarfs the rest).
 * Returns [min, max] of the matrix, or null when there is nothing to draw.
 */
export function drawMatrix(canvas, rows, { mode = "range" } = {}) {
  const context = fitCanvas(canvas);
  const nRows = rows.length;
  const nFrames = nRows ? rows[0].length : 0;
  if (!nRows || !nFrames) return null;
  const image = new ImageData(nFrames, nRows);
  const [lo, hi] = finiteRange(rows.flat());
  rows.forEach((row, r) => {
    let scale = (v) => (v - lo) / (hi - lo || 1);
    let stops = VIRIDIS;
    if (mode === "rows") {
      const finite = row.filter(Number.isFinite);
      const mean = finite.reduce((s, v) => s + v, 0) / (finite.length || 1);
      const sd = Math.sqrt(finite.reduce((s, v) => s + (v - mean) ** 2, 0) / (finite.length || 1)) || 1;
      scale = (v) => 0.5 + (v - mean) / sd / 5; // +-2.5 standard deviations fill the scale
      stops = DIVERGING;
    }
    const y = nRows - 1 - r;
    row.forEach((value, x) => {
      const [red, green, blue] = mapColour(stops, scale(value));
      const at = (y * nFrames + x) * 4;
      image.data[at] = red;
      image.data[at + 1] = green;
      image.data[at + 2] = blue;
      image.data[at + 3] = 255;
    });
  });
  const source = document.createElement("canvas");
  source.width = nFrames;
  source.height = nRows;
  source.getContext("2d").putImageData(image, 0, 0);
  context.imageSmoothingEnabled = true;
  context.drawImage(source, 0, 0, canvas.width, canvas.height);
  return [lo, hi];
}

/** Draw a series against time as a filled line; returns [min, max] of the values drawn. */
export function drawLine(canvas, values, { colour = null } = {}) {
  const context = fitCanvas(canvas);
  const n = values.length;
  if (!n) return null;
  const [lo, hi] = finiteRange(values);
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
  const bottom = lo - pad;
  const top = hi + pad;
  const w = canvas.width;
  const h = canvas.height;
  const x = (i) => (n === 1 ? w / 2 : (i / (n - 1)) * w);
  const y = (v) => h - ((Number.isFinite(v) ? v : bottom) - bottom) / (top - bottom) * h;
  const ink = colour || cssColour("--accent", "#3366cc");

  context.strokeStyle = cssColour("--grid", "rgba(128,128,128,0.25)");
  context.lineWidth = 1;
  for (let k = 1; k < 4; k += 1) {
    context.beginPath();
    context.moveTo(0, (h * k) / 4);
    context.lineTo(w, (h * k) / 4);
    context.stroke();
  }
  context.beginPath();
  context.moveTo(x(0), h);
  values.forEach((v, i) => context.lineTo(x(i), y(v)));
  context.lineTo(x(n - 1), h);
  context.closePath();
  context.globalAlpha = 0.25;
  context.fillStyle = ink;
  context.fill();
  context.globalAlpha = 1;
  context.beginPath();
  values.forEach((v, i) => (i ? context.lineTo(x(i), y(v)) : context.moveTo(x(i), y(v))));
  context.strokeStyle = ink;
  context.lineWidth = Math.max(1, (window.devicePixelRatio || 1) * 1.25);
  context.stroke();
  return [lo, hi];
}

/**
 * Draw the genre timeline: each window a block in its genre's colour, paler when the model was less sure;
 * ``analysedUntil`` (seconds) greys what the server did not analyse.
 */
export function drawTimeline(canvas, segments, labels, span, { analysedUntil = null } = {}) {
  const context = fitCanvas(canvas);
  const w = canvas.width;
  const h = canvas.height;
  const ratio = window.devicePixelRatio || 1;
  const xOf = (t) => (Math.min(Math.max(t, 0), span) / span) * w;
  context.fillStyle = cssColour("--plot-bg", "#eef0f3");
  context.fillRect(0, 0, w, h);
  if (!(span > 0)) return false;
  for (const segment of segments) {
    const x0 = xOf(segment.start);
    const x1 = Math.max(xOf(segment.end), x0 + 1);
    context.globalAlpha = 0.35 + 0.65 * Math.min(1, Math.max(0, segment.confidence || 0));
    context.fillStyle = labelColour(labels.indexOf(segment.genre));
    context.fillRect(x0, 0, x1 - x0, h);
  }
  context.globalAlpha = 1;
  if (analysedUntil !== null && analysedUntil < span) {
    context.fillStyle = cssColour("--muted-fill", "rgba(120,120,120,0.35)");
    context.fillRect(xOf(analysedUntil), 0, w - xOf(analysedUntil), h);
  }
  // Name each run of one genre where it is wide enough to hold its name (drawn as canvas text, not HTML).
  context.font = `${Math.round(12 * ratio)}px system-ui, sans-serif`;
  context.textBaseline = "middle";
  context.fillStyle = "#111";
  let run = null;
  const flush = () => {
    if (!run) return;
    const width = run.x1 - run.x0;
    const name = String(run.genre);
    if (context.measureText(name).width + 8 * ratio < width) {
      context.fillStyle = "rgba(255,255,255,0.75)";
      const tw = context.measureText(name).width;
      context.fillRect(run.x0 + 3 * ratio, h / 2 - 9 * ratio, tw + 6 * ratio, 18 * ratio);
      context.fillStyle = "#111";
      context.fillText(name, run.x0 + 6 * ratio, h / 2);
    }
  };
  for (const segment of segments) {
    const x0 = xOf(segment.start);
    const x1 = xOf(segment.end);
    if (run && run.genre === segment.genre && x0 - run.x1 < 2 * ratio) run.x1 = x1;
    else {
      flush();
      run = { genre: segment.genre, x0, x1 };
    }
  }
  flush();
  return true;
}
