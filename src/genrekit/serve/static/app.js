// The classify page: pick or drop a recording, upload it with progress,
// show the verdict, the genre timeline and the pictures of the features,
// and play the user's own copy with a cursor that follows the player.

import { ApiError, clock, el, getJSON, labelColour, percent, postForm, size } from "./common.js";
import { drawLine, drawMatrix, drawTimeline } from "./plots.js";

const $ = (id) => document.getElementById(id);
const TOP_GENRES = 5;
const SEEK_STEP_S = 5;

const page = {
  file: null, // the recording being shown
  audioURL: null, // the object URL the player plays
  run: 0, // bumped on each new upload: answers to an older one are dropped
  pending: [], // abort functions of the requests in flight
  classified: null, // the last classify answer, kept for redrawing
  explained: null, // the last explain answer
};

// ---- state shown to the user -------------------------------------------------

function setState(state) {
  document.body.dataset.state = state;
}

function showStatus(text, fraction = null) {
  $("progress").hidden = false;
  $("status").textContent = text;
  const bar = $("bar");
  if (fraction === null) bar.removeAttribute("value"); // indeterminate: analysing
  else bar.value = Math.round(fraction * 100);
}

function hideStatus() {
  $("progress").hidden = true;
}

function showError(error) {
  const box = $("error");
  box.replaceChildren(el("strong", { text: "Could not classify this file. " }),
    el("span", { text: error instanceof ApiError ? error.text : String(error && error.message || error) }));
  box.hidden = false;
}

function hideError() {
  $("error").hidden = true;
  $("error").replaceChildren();
}

// ---- the model picker ----------------------------------------------------------

async function loadModels() {
  const select = $("model");
  const wanted = new URLSearchParams(window.location.search).get("model");
  try {
    const { models } = await getJSON("/v1/models");
    select.replaceChildren(...models.map((model) => el("option", {
      value: model.id,
      text: `${model.name || model.id}${model.default ? " (default)" : ""} · ${model.kind || "?"} · ${(model.labels || []).length} genres`,
      selected: wanted ? model.id === wanted : model.default,
    })));
    if (!models.length) select.replaceChildren(el("option", { value: "", text: "the server's default" }));
  } catch (error) {
    select.replaceChildren(el("option", { value: "", text: "the server's default" }));
    const box = $("error");
    box.replaceChildren(el("strong", { text: "Could not list the models. " }),
      el("span", { text: error instanceof ApiError ? error.text : String(error) }));
    box.hidden = false;
  }
  select.disabled = false;
}

// ---- uploading -------------------------------------------------------------------

function abortPending() {
  for (const abort of page.pending) abort();
  page.pending = [];
}

function formFor(file, fields = {}) {
  const form = new FormData();
  form.append("file", file, file.name);
  for (const [name, value] of Object.entries(fields)) if (value) form.append(name, value);
  return form;
}

/** Upload ``file`` twice in parallel (classify and explain), following both uploads in one progress bar. */
async function analyse(file) {
  abortPending();
  const run = ++page.run;
  const current = () => run === page.run;
  page.file = file;
  page.classified = null;
  page.explained = null;
  hideError();
  $("results").hidden = true;
  $("again").disabled = false;
  $("file-name").textContent = `${file.name} (${size(file.size)})`;
  if (page.audioURL) URL.revokeObjectURL(page.audioURL);
  page.audioURL = URL.createObjectURL(file);
  $("player").src = page.audioURL;
  setState("uploading");

  const sent = { classify: [0, file.size], explain: [0, file.size] };
  const progress = (which) => (loaded, total) => {
    if (!current()) return;
    sent[which] = [loaded, total];
    const done = sent.classify[0] + sent.explain[0];
    const all = sent.classify[1] + sent.explain[1] || 1;
    if (done >= all) {
      setState("analysing");
      showStatus(`Analysing ${file.name}...`);
    } else {
      showStatus(`Uploading ${file.name}: ${Math.round((done / all) * 100)}%`, done / all);
    }
  };
  showStatus(`Uploading ${file.name}: 0%`, 0);

  const classify = postForm("/v1/classify",
    formFor(file, { model: $("model").value, coverage: $("coverage").value }), { onUpload: progress("classify") });
  const explain = postForm("/v1/explain", formFor(file), { onUpload: progress("explain") });
  page.pending = [classify.abort, explain.abort];
  resetPictures();

  const pictures = explain.promise.then((answer) => {
    if (!current()) return;
    page.explained = answer;
    if (!$("results").hidden) drawPictures(); // else drawn once the results are shown: a hidden canvas has no size
  }, (error) => {
    if (!current() || error.code === "aborted") return;
    $("pictures-status").textContent = `The pictures could not be made: ${error.text}`;
  });

  try {
    const answer = await classify.promise;
    if (!current()) return;
    page.classified = answer;
    showVerdict(answer);
    $("results").hidden = false;
    drawTimelineNow();
    drawPictures();
    if (!page.explained) showStatus("Drawing the features...");
  } catch (error) {
    if (!current() || error.code === "aborted") return;
    explain.abort();
    hideStatus();
    showError(error);
    setState("error");
    return;
  }
  await pictures;
  if (!current()) return;
  hideStatus();
  page.pending = [];
  setState("done");
}

// ---- the verdict -------------------------------------------------------------------

function labelsOf(answer) {
  return Object.keys(answer.probabilities || {});
}

/** How long the timeline spans: the whole track where its length is known. */
function trackSpan(answer) {
  const segments = answer.segments || [];
  const lastEnd = segments.reduce((m, s) => Math.max(m, s.end || 0), 0);
  const analysed = answer.analysed || {};
  return Math.max(analysed.duration_s || 0, analysed.seconds || 0, lastEnd) || 1;
}

function showVerdict(answer) {
  const labels = labelsOf(answer);
  $("verdict-genre").textContent = answer.genre;
  $("verdict-confidence").textContent = percent(answer.confidence);
  const analysed = answer.analysed || {};
  const coverage = answer.coverage || {};
  const model = $("model").selectedOptions[0];
  const parts = [
    `${answer.path || page.file.name}`,
    analysed.duration_s ? `${clock(analysed.duration_s)} long` : null,
    `model: ${model ? model.textContent.split(" · ")[0] : answer.model}`,
    coverage.windows !== undefined ? `${coverage.windows} of ${coverage.of} windows heard` : null,
  ].filter(Boolean);
  $("verdict-detail").textContent = `${parts.join(" · ")}.`;
  const timings = answer.timings || {};
  if (typeof timings.analysis_s === "number") {
    const waited = typeof timings.queue_s === "number" && timings.queue_s >= 0.1
      ? ` after waiting ${timings.queue_s.toFixed(1)} s for a free worker` : "";
    $("verdict-detail").append(` Analysed in ${timings.analysis_s.toFixed(1)} s${waited}.`);
  }
  if (analysed.truncated) {
    $("verdict-detail").append(` Only the first ${clock(analysed.seconds)} were analysed (this server stops at `
      + `${clock(analysed.max_duration_s)}).`);
  }

  const ranked = Object.entries(answer.probabilities || {}).sort((a, b) => b[1] - a[1]).slice(0, TOP_GENRES);
  $("top-genres").replaceChildren(...ranked.map(([genre, p]) => {
    const fill = el("span", { class: "fill" });
    fill.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
    fill.style.background = labelColour(labels.indexOf(genre));
    return el("li", {}, el("span", { class: "name", text: genre }), el("span", { class: "bar", "aria-hidden": "true" }, fill),
      el("span", { class: "value", text: percent(p) }));
  }));

  const segments = answer.segments || [];
  const seen = [...new Set(segments.map((s) => s.genre))];
  $("legend").replaceChildren(...seen.map((genre) => {
    const swatch = el("span", { class: "swatch", "aria-hidden": "true" });
    swatch.style.background = labelColour(labels.indexOf(genre));
    const share = segments.filter((s) => s.genre === genre).length / (segments.length || 1);
    return el("li", {}, swatch, el("span", { text: `${genre} ${percent(share)}` }));
  }));
  $("segments").tBodies[0].replaceChildren(...segments.map((s) => el("tr", {},
    el("td", { text: s.start.toFixed(1) }), el("td", { text: s.end.toFixed(1) }), el("td", { text: s.genre }),
    el("td", { text: percent(s.confidence) }))));
}

function drawTimelineNow() {
  const answer = page.classified;
  if (!answer) return;
  const span = trackSpan(answer);
  const analysed = answer.analysed || {};
  const canvas = $("timeline");
  drawTimeline(canvas, answer.segments || [], labelsOf(answer), span,
    { analysedUntil: analysed.truncated ? analysed.seconds : null });
  const summary = (answer.segments || []).length
    ? `Genre timeline over ${clock(span)}: mostly ${answer.genre}.` : "No windows were analysed.";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", summary);
  setSpan(canvas.parentElement, span);
  $("timeline-end").textContent = clock(span);
}

// ---- the pictures --------------------------------------------------------------------

const FALLBACK_EXPLANATIONS = {
  mel: "How loud each band of pitch is over time, low notes at the bottom; brighter is louder.",
  mfcc: "The spectrum's overall shape (timbre) as 20 numbers per frame; each row scaled on its own.",
  zcr: "How often the waveform crosses zero: high for noisy, hissy or percussive sound, low for smooth tones.",
  centroid: "The spectrum's centre of mass in Hz: how bright or dark the sound is.",
};

function resetPictures() {
  $("pictures-status").textContent = "";
  for (const name of ["mel", "mfcc", "zcr", "centroid"]) {
    const canvas = $(name);
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    $(`${name}-explain`).textContent = FALLBACK_EXPLANATIONS[name];
    $(`${name}-range`).textContent = "";
  }
}

function explainSpan(answer) {
  const times = answer.times || [];
  const end = times.length ? times[times.length - 1] + (answer.hop_seconds || 0) : 0;
  return (answer.truncated ? end : Math.max(answer.duration_s || 0, end)) || 1;
}

function drawPictures() {
  const answer = page.explained;
  if (!answer) return;
  const span = explainSpan(answer);
  const explanations = answer.explanations || {};
  for (const name of ["mel", "mfcc", "zcr", "centroid"]) {
    $(`${name}-explain`).textContent = explanations[name] || FALLBACK_EXPLANATIONS[name];
    const canvas = $(name);
    setSpan(canvas.parentElement, span);
    canvas.parentElement.parentElement.querySelector(".axis-end").textContent = clock(span);
  }
  const mel = answer.mel || {};
  const freqs = mel.frequencies || [];
  const [dbLo, dbHi] = drawMatrix($("mel"), mel.db || [], { mode: "range" }) || [0, 0];
  $("mel-range").textContent = freqs.length
    ? `${(mel.db || []).length} bands, ${Math.round(freqs[0])} Hz to ${(freqs[freqs.length - 1] / 1000).toFixed(1)} kHz, `
      + `${Math.round(dbLo)} to ${Math.round(dbHi)} dB` : "";
  $("mel").setAttribute("role", "img");
  $("mel").setAttribute("aria-label", `Mel spectrogram of ${clock(span)}`);

  drawMatrix($("mfcc"), answer.mfcc || [], { mode: "rows" });
  $("mfcc-range").textContent = `${(answer.mfcc || []).length} coefficients, first at the bottom`;
  $("mfcc").setAttribute("role", "img");
  $("mfcc").setAttribute("aria-label", `MFCCs of ${clock(span)}`);

  const zcr = drawLine($("zcr"), answer.zcr || []);
  $("zcr-range").textContent = zcr ? `${zcr[0].toFixed(3)} to ${zcr[1].toFixed(3)} crossings per sample` : "";
  $("zcr").setAttribute("role", "img");
  $("zcr").setAttribute("aria-label", `Zero-crossing rate over ${clock(span)}`);

  const centroid = drawLine($("centroid"), answer.centroid || []);
  $("centroid-range").textContent = centroid ? `${Math.round(centroid[0])} to ${Math.round(centroid[1])} Hz` : "";
  $("centroid").setAttribute("role", "img");
  $("centroid").setAttribute("aria-label", `Spectral centroid over ${clock(span)}`);

  $("pictures-status").textContent = answer.truncated ? `The pictures show the first ${clock(span)} only.` : "";
  updateCursors();
}

// ---- the player, the cursors and seeking -------------------------------------------------

function setSpan(track, span) {
  track.dataset.span = String(span);
  if (track.classList.contains("seekable")) track.setAttribute("aria-valuemax", String(Math.round(span)));
  updateCursors();
}

function updateCursors() {
  const t = $("player").currentTime || 0;
  for (const track of document.querySelectorAll(".track")) {
    const span = Number(track.dataset.span || 0);
    const cursor = track.querySelector(".cursor");
    const visible = span > 0 && t <= span;
    cursor.hidden = !visible;
    if (visible) cursor.style.left = `${(t / span) * 100}%`;
    if (track.classList.contains("seekable")) {
      track.setAttribute("aria-valuenow", String(Math.round(t)));
      track.setAttribute("aria-valuetext", clock(t));
    }
  }
}

function followPlayer() {
  updateCursors();
  if (!$("player").paused) requestAnimationFrame(followPlayer);
}

function seek(seconds) {
  const player = $("player");
  const limit = Number.isFinite(player.duration) ? player.duration : Infinity;
  player.currentTime = Math.max(0, Math.min(seconds, limit));
  updateCursors();
}

function wireSeeking() {
  for (const track of document.querySelectorAll(".seekable")) {
    track.addEventListener("click", (event) => {
      const span = Number(track.dataset.span || 0);
      if (!span) return;
      const box = track.getBoundingClientRect();
      seek(((event.clientX - box.left) / box.width) * span);
    });
    track.addEventListener("keydown", (event) => {
      const now = $("player").currentTime || 0;
      const moves = { ArrowLeft: now - SEEK_STEP_S, ArrowRight: now + SEEK_STEP_S, Home: 0,
        End: Number(track.dataset.span || 0) };
      if (event.key in moves) {
        event.preventDefault();
        seek(moves[event.key]);
      }
    });
  }
  const player = $("player");
  player.addEventListener("timeupdate", updateCursors);
  player.addEventListener("seeked", updateCursors);
  player.addEventListener("play", () => requestAnimationFrame(followPlayer));
}

// ---- choosing a file ----------------------------------------------------------------------

function wireUpload() {
  const input = $("file");
  const drop = $("drop");
  input.addEventListener("change", () => {
    if (input.files && input.files[0]) analyse(input.files[0]);
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "dragend"]) drop.addEventListener(type, () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dragging");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) analyse(file);
  });
  // A file dropped beside the drop zone would make the browser leave the page.
  for (const type of ["dragover", "drop"]) window.addEventListener(type, (event) => event.preventDefault());
  $("upload").addEventListener("submit", (event) => {
    event.preventDefault();
    if (page.file) analyse(page.file);
  });
}

function redraw() {
  drawTimelineNow();
  drawPictures();
}

let resizeTimer = 0;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(redraw, 150);
});

wireUpload();
wireSeeking();
loadModels();
