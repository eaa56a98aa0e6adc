// Helpers shared by the classify page and the models page.
// Everything that came from the server (labels, names, messages) goes into
// the page as text (textContent), never as HTML: a model's labels and a
// file's name are hostile until shown safely.

/** Make an element with text content and attributes; children may be nodes or strings (added as text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// What each of the API's error codes means to someone using the page.
const HEADLINES = {
  too_large: "The file is larger than this server accepts.",
  unsupported: "This file is not audio that genrekit can read.",
  corrupt: "The file looks damaged.",
  too_short: "The recording is too short to classify.",
  bad_model: "The model file was refused.",
  bad_request: "The request was refused.",
  bad_token: "The token is wrong.",
  uploads_disabled: "This server does not accept model uploads.",
  not_found: "Not found.",
  busy: "The server is busy: try again in a moment.",
  timeout: "The analysis took too long and was stopped.",
  internal: "Something went wrong on the server.",
};

/** An API failure: the HTTP status, the API's error code and its message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** One readable sentence or two: what happened in plain words, then the server's own words. */
  get text() {
    const headline = HEADLINES[this.code] || (this.status ? `The server answered ${this.status}.` : "");
    const detail = this.message && this.message !== headline ? ` ${this.message}` : "";
    const status = this.status ? ` (HTTP ${this.status}${this.code ? `, ${this.code}` : ""})` : "";
    return `${headline}${detail}${status}`.trim();
  }
}

/** Turn a response body and status into an ApiError, whatever the body holds (JSON, HTML from a proxy, nothing). */
export function errorFrom(status, bodyText) {
  try {
    const body = JSON.parse(bodyText);
    if (body && typeof body === "object" && typeof body.error === "string") {
      return new ApiError(status, body.error, typeof body.message === "string" ? body.message : "");
    }
  } catch (_) { /* not JSON: fall through */ }
  return new ApiError(status, "", status === 413 ? "The upload is too large." : "");
}

/** GET a JSON document from the API; rejects with an ApiError. */
export async function getJSON(url) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" } });
  } catch (_) {
    throw new ApiError(0, "", "Could not reach the server.");
  }
  const text = await response.text();
  if (!response.ok) throw errorFrom(response.status, text);
  try {
    return JSON.parse(text);
  } catch (_) {
    throw new ApiError(response.status, "", "The server's answer was not JSON.");
  }
}

/**
 * POST a form with XMLHttpRequest (fetch cannot report upload progress).
 * onUpload(loaded, total) follows the upload; resolves with the JSON body,
 * rejects with an ApiError. Returns {promise, abort}.
 */
export function postForm(url, form, { onUpload = null, headers = {} } = {}) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onUpload) {
      let total = 0;
      xhr.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        total = event.total;
        onUpload(event.loaded, event.total);
      });
      xhr.upload.addEventListener("load", () => onUpload(total || 1, total || 1));
    }
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch (_) {
          reject(new ApiError(xhr.status, "", "The server's answer was not JSON."));
        }
      } else {
        reject(errorFrom(xhr.status, xhr.responseText));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "",
      "The upload was cut off: the server went away, or the file is larger than it accepts.")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", "Cancelled.")));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

/** 0.4085 -> "41%"; anything not a number -> "n/a". */
export function percent(value, digits = 0) {
  return typeof value === "number" && Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : "n/a";
}

/** Seconds as m:ss (or h:mm:ss). */
export function clock(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/** Bytes as a short readable size. */
export function size(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes)) return "n/a";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// A colour per label: well-separated hues, the same label the same colour on every page.
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#86bcb6", "#d37295", "#8cd17d", "#a0cbe8", "#ffbe7d", "#bab0ac", "#499894"];

/** The colour of label ``index`` in a model's label list. */
export function labelColour(index) {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length];
}
