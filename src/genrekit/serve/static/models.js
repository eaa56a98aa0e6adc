// The models page: every model's card (genres, features, training data,
// validation with its split named), its confusion matrix, the claimed score
// beside the server's own benchmark, and a form to upload a model file.

import { ApiError, el, getJSON, percent, postForm, size } from "./common.js";

const $ = (id) => document.getElementById(id);

const METRIC_NAMES = {
  accuracy: "accuracy",
  balanced_accuracy: "balanced accuracy",
  macro_f1: "macro F1",
  log_loss: "log loss",
  ece: "calibration error (ECE)",
  n_tracks: "tracks",
};
const SHARES = new Set(["accuracy", "balanced_accuracy", "macro_f1", "ece"]);

function metricText(name, value) {
  if (typeof value !== "number") return value === null || value === undefined ? "n/a" : String(value);
  if (SHARES.has(name)) return percent(value, 1);
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

function errorText(error) {
  return error instanceof ApiError ? error.text : String(error && error.message || error);
}

function facts(pairs) {
  const list = el("dl", { class: "facts" });
  for (const [term, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    list.append(el("dt", { text: term }), el("dd", { text: value }));
  }
  return list;
}

function trainingText(training) {
  if (!training || typeof training !== "object") return null;
  const parts = [];
  if (training.source) parts.push(String(training.source));
  if (training.split) parts.push(`${training.split} split`);
  if (typeof training.n_tracks === "number") parts.push(`${training.n_tracks} tracks`);
  if (typeof training.n_windows === "number") parts.push(`${training.n_windows} windows`);
  return parts.join(", ") || null;
}

function perLabelText(counts) {
  if (!counts || typeof counts !== "object") return null;
  return Object.entries(counts).map(([label, n]) => `${label} ${n}`).join(", ");
}

/** The claimed score (from the card, on its split) beside the server's own benchmark. */
function scoresTable(summary, validation) {
  const claimed = summary.claimed || (validation && validation.metrics
    ? { ...validation.metrics, split: validation.split } : null);
  const benchmark = summary.benchmark;
  const tracks = (n) => (typeof n === "number" ? `, ${n} tracks` : "");
  const body = el("tbody");
  if (claimed) {
    const n = validation && validation.metrics ? validation.metrics.n_tracks : null;
    body.append(el("tr", { class: "claimed" },
      el("th", { scope: "row", text: `claimed (${claimed.split || "unnamed"} split${tracks(n)})` }),
      el("td", { text: percent(claimed.accuracy, 1) }), el("td", { text: percent(claimed.balanced_accuracy, 1) })));
  }
  if (benchmark && benchmark.status === "done") {
    const where = [benchmark.collection || "benchmark", benchmark.split ? `${benchmark.split} split` : null]
      .filter(Boolean).join(", ");
    body.append(el("tr", { class: "benchmark" },
      el("th", { scope: "row", text: `measured here (${where}${tracks(benchmark.n_tracks)})` }),
      el("td", { text: percent(benchmark.accuracy, 1) }), el("td", { text: percent(benchmark.balanced_accuracy, 1) })));
  } else if (benchmark && benchmark.status && benchmark.status !== "off") {
    const words = { pending: "waiting to run", running: "running now", failed: "failed" };
    body.append(el("tr", { class: "benchmark" },
      el("th", { scope: "row", text: "measured here" }),
      el("td", { colspan: 2, text: [words[benchmark.status] || String(benchmark.status), benchmark.message]
        .filter(Boolean).join(": ") })));
  }
  if (!body.children.length) {
    return el("p", { class: "note", text: "No scores: the card claims none and the server runs no benchmark." });
  }
  const table = el("table", { class: "scores" },
    el("caption", { text: "Scores: claimed by the card, and measured by this server on its benchmark" }),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "score" }), el("th", { scope: "col", text: "accuracy" }),
      el("th", { scope: "col", text: "balanced accuracy" }))), body);
  return el("div", { class: "scroll" }, table);
}

function validationBlock(validation) {
  if (!validation || typeof validation !== "object" || !validation.metrics) {
    const note = validation && typeof validation.note === "string" ? `: ${validation.note}` : ".";
    return el("p", { class: "note", text: `The card records no validation${note}` });
  }
  const where = [validation.split ? `${validation.split} split` : "an unnamed split",
    validation.level ? `${validation.level} level` : null].filter(Boolean).join(", ");
  const list = Object.entries(validation.metrics)
    .filter(([, value]) => typeof value === "number")
    .map(([name, value]) => [METRIC_NAMES[name] || name, metricText(name, value)]);
  return el("div", {}, el("h3", { text: `Validation (${where})` }), facts(list));
}

/** How the configuration was chosen: its scores fit on one split and scored on another, each named. */
function selectionBlock(selection) {
  const figures = selection && typeof selection === "object" ? selection.selection_figures : null;
  if (!figures || typeof figures !== "object") return null;
  const rows = Object.values(figures).filter((f) => f && typeof f === "object").map((f) => [
    typeof f.measured_on === "string" ? f.measured_on : "a held-out split",
    [typeof f.accuracy === "number" ? `accuracy ${percent(f.accuracy)}` : null,
      typeof f.balanced_accuracy === "number" ? `balanced ${percent(f.balanced_accuracy)}` : null]
      .filter(Boolean).join(", ")]);
  if (typeof selection.mean_balanced_accuracy_both_directions === "number") {
    rows.push(["mean of both directions", `balanced ${percent(selection.mean_balanced_accuracy_both_directions)}`]);
  }
  return el("div", {}, el("h3", { text: "How this configuration was chosen" }), facts(rows),
    typeof selection.final_fit === "string" ? el("p", { class: "note", text: `Shipped fit: ${selection.final_fit}.` }) : null);
}

/** The confusion matrix as a table: rows the true genre, columns the predicted one, shaded by row share. */
function confusionTable(confusion) {
  if (!confusion || !Array.isArray(confusion.matrix) || !Array.isArray(confusion.labels)) {
    return el("p", { class: "note", text: "The card has no confusion matrix." });
  }
  const { labels, matrix } = confusion;
  const head = el("tr", {}, el("td", { text: "" }), ...labels.map((label) => el("th", { scope: "col", title: label, text: label })));
  const rows = matrix.map((row, i) => {
    const total = row.reduce((s, v) => s + (Number(v) || 0), 0) || 1;
    return el("tr", {}, el("th", { scope: "row", title: labels[i], text: labels[i] }), ...row.map((count, j) => {
      const cell = el("td", { class: i === j ? "diagonal" : null, text: String(count) });
      const share = (Number(count) || 0) / total;
      cell.style.background = `color-mix(in srgb, var(--accent) ${Math.round(share * 85)}%, transparent)`;
      if (share > 0.5) cell.style.color = "var(--accent-ink)";
      cell.title = `true ${labels[i]}, predicted ${labels[j]}: ${count} (${percent(share)} of the row)`;
      return cell;
    }));
  });
  const table = el("table", { class: "confusion" },
    el("caption", { text: `Tracks of the ${confusion.split || "unnamed"} split` }),
    el("thead", {}, head), el("tbody", {}, ...rows));
  return el("div", {},
    el("p", { class: "note", text: "Each row is the true genre, each column what the model said; the diagonal "
      + "(outlined) is right, and the darker a cell, the larger its share of the row." }),
    el("div", { class: "scroll" }, table));
}

function modelCard(summary, detail) {
  const card = (detail && detail.card) || {};
  const model = card.model || {};
  const windowing = card.windowing || {};
  const featureSet = card.feature_set || {};
  const id = summary.id;
  const titleId = `model-${String(id).replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const badges = el("ul", { class: "badges", "aria-label": "About this model" },
    summary.default ? el("li", { class: "badge default", text: "default" }) : null,
    el("li", { class: "badge", text: summary.source || "?" }),
    el("li", { class: "badge", text: summary.kind || model.kind || "?" }));
  const article = el("article", { class: "panel model-card", "aria-labelledby": titleId, "data-model-id": id },
    el("h2", { id: titleId, text: summary.name || id }), badges,
    facts([
      ["id", id],
      ["genres", (summary.labels || []).join(", ")],
      ["feature set", [summary.feature_set || featureSet.name,
        featureSet.sample_rate ? `at ${featureSet.sample_rate} Hz` : null].filter(Boolean).join(" ")],
      ["model", [summary.kind || model.kind, model.architecture].filter(Boolean).join(", ")],
      ["windows", typeof windowing.window === "number"
        ? `${windowing.window} s every ${windowing.hop} s, ${card.aggregation || "combined"} over the track` : null],
      ["training data", trainingText(card.training)],
      ["tracks per genre", perLabelText(card.training && card.training.tracks_per_label)],
      ["file size", size(summary.size_bytes)],
    ]),
    scoresTable(summary, card.validation),
    validationBlock(card.validation),
    selectionBlock(card.selection),
    el("h3", { text: "Confusion matrix" }),
    detail ? confusionTable(detail.confusion) : el("p", { class: "note", text: "The details could not be loaded." }),
    el("p", {}, el("a", { href: `/?model=${encodeURIComponent(id)}`, text: "Classify a recording with this model" })));
  return article;
}

async function loadModels() {
  const status = $("models-status");
  document.body.dataset.state = "loading";
  try {
    const { models } = await getJSON("/v1/models");
    const details = await Promise.all(models.map((summary) =>
      getJSON(`/v1/models/${encodeURIComponent(summary.id)}`).catch(() => null)));
    $("model-list").replaceChildren(...models.map((summary, i) => modelCard(summary, details[i])));
    status.textContent = models.length === 1 ? "One model." : `${models.length} models.`;
    $("models-error").hidden = true;
    document.body.dataset.state = "done";
  } catch (error) {
    status.textContent = "";
    $("models-error").replaceChildren(el("strong", { text: "Could not list the models. " }),
      el("span", { text: errorText(error) }));
    $("models-error").hidden = false;
    document.body.dataset.state = "error";
  }
}

function wireUpload() {
  const form = $("model-upload");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = $("upload-status");
    const box = $("upload-error");
    box.hidden = true;
    const file = $("model-file").files[0];
    if (!file) {
      box.replaceChildren(el("span", { text: "Choose a .genre file first." }));
      box.hidden = false;
      return;
    }
    const data = new FormData();
    data.append("file", file, file.name);
    const token = $("token").value.trim();
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    status.textContent = `Uploading ${file.name}: 0%`;
    try {
      const summary = await postForm("/v1/models", data, {
        headers,
        onUpload: (loaded, total) => { status.textContent = `Uploading ${file.name}: ${Math.round((loaded / total) * 100)}%`; },
      }).promise;
      status.textContent = `Added ${summary.name || summary.id} (id ${summary.id}).`;
      form.reset();
      await loadModels();
    } catch (error) {
      status.textContent = "";
      box.replaceChildren(el("strong", { text: "The model was not added. " }), el("span", { text: errorText(error) }));
      box.hidden = false;
    }
  });
}

wireUpload();
loadModels();
