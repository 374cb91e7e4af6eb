// Cadenza Studio: a request form, the job's progress, and the piece (audio, piano roll with a cursor, the
// engraved score, downloads, the report) over the jobs API; chosen bars of a piece are written again by a
// revise job (its MIDI uploaded as the source). Every request goes to this server's /v1 routes.
"use strict";

const POLL_MS = 400;
const PART_COLOURS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bc4c00", "#0a7d8c", "#cf222e"];
const FILE_LABELS = {mid: "MIDI", musicxml: "MusicXML", wav: "WAV", png: "Piano roll (PNG)", report: "Report (JSON)"};

const studio = {
  apiKey: sessionStorage.getItem("cadenza-api-key") || "",
  choices: null,
  following: null,  // the id of the job whose progress is shown
  roll: null,  // the piece's notes and bars in seconds (GET /v1/jobs/ID/roll)
  objectUrls: [],  // blobs of the piece shown, released when another is shown
  piece: null,  // the job whose piece is shown: {id, files, report}
  uploads: new Map(),  // job id -> the upload id of its MIDI (a revise job's source)
  selection: null,  // [first, last]: the bars chosen to write again (or last written again), as the roll numbers them
  anchor: null,  // the bar of the last shift-click
};

// ---------------------------------------------------------------- the API
const api = (path, options = {}) => cadenzaFetch(path, studio.apiKey, options);  // see api.js

const getJson = async (path) => (await api(path)).json();
const fileUrl = (jobId, name) => `v1/jobs/${jobId}/files/${encodeURIComponent(name)}`;

async function blobUrl(path) {
  const url = URL.createObjectURL(await (await api(path)).blob());
  studio.objectUrls.push(url);
  return url;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

// ---------------------------------------------------------------- the form
function addOptions(select, values) {
  for (const value of values) select.append(new Option(value, value));
}

async function loadChoices() {
  const choices = studio.choices = await getJson("v1/studio/choices");
  for (const ensemble of choices.ensembles) {
    $("ensemble").append(new Option(`${ensemble.name} (${[...new Set(ensemble.parts)].join(", ")})`, ensemble.name));
  }
  addOptions($("key"), choices.keys);
  addOptions($("meter"), choices.meters);
  addOptions($("mood"), choices.moods);
  addOptions($("epoch"), choices.epochs);
  Object.assign($("bars"), {min: choices.min_bars, max: choices.max_bars, value: choices.default_bars});
}

function askedFor() {
  const request = {};
  for (const [name, value] of new FormData($("request"))) {
    const text = String(value).trim();
    if (text) request[name] = ["bars", "seed"].includes(name) ? Number(text) : text;
  }
  return request;
}

async function compose(event) {
  event.preventDefault();
  showError("");
  $("compose").disabled = true;
  try {
    const body = {kind: "compose", request: askedFor(), formats: studio.choices.formats};
    const job = await (await api("v1/jobs", {method: "POST", headers: {"Content-Type": "application/json"},
                                             body: JSON.stringify(body)})).json();
    location.hash = job.id;  // opens it (hashchange), and a reload shows it again
  } catch (error) {
    showError(error.message);
  } finally {
    $("compose").disabled = false;
  }
}

// ---------------------------------------------------------------- a job: progress, then the piece
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function openJob(jobId) {
  showError("");
  studio.following = jobId;
  $("job").hidden = false;
  $("cancel").hidden = false;
  while (studio.following === jobId) {
    const job = await getJson(`v1/jobs/${jobId}`);
    $("progress").value = job.progress;
    $("job-state").textContent = `${job.kind} ${job.id.slice(0, 8)}: ${job.state}` +
      (job.state === "running" ? ` (${Math.round(job.progress * 100)}%)` : "");
    if (job.state === "done" || job.state === "failed" || job.state === "cancelled") {
      $("cancel").hidden = true;
      if (job.state === "done") await showPiece(job);
      else showError(job.error || `the job was ${job.state}`);
      loadHistory();
      return;
    }
    await sleep(POLL_MS);
  }
}

async function cancelJob() {
  if (!studio.following) return;
  try { await api(`v1/jobs/${studio.following}`, {method: "DELETE"}); } catch (error) { showError(error.message); }
}

async function showPiece(job) {
  const report = job.report || {};
  const files = report.files || {};
  studio.objectUrls.forEach((url) => URL.revokeObjectURL(url));
  studio.objectUrls = [];
  $("piece").hidden = false;
  studio.piece = {id: job.id, files, report};
  studio.selection = studio.anchor = null;
  const result = report.result || {};
  const plan = report.plan || {};
  const revised = report.revised && report.revised.bars;
  $("summary").textContent = [plan.ensemble, plan.key, plan.meter, plan.tempo_bpm && `${plan.tempo_bpm} bpm`,
    result.bars && `${result.bars} bars`, result.notes && `${result.notes} notes`,
    result.duration_s && `${result.duration_s.toFixed(1)} s`, `seed ${report.seed}`].filter(Boolean).join(" · ");
  showDownloads(job.id, files);
  showReport(report);
  const audio = $("audio");
  audio.removeAttribute("src");
  studio.roll = null;
  const [roll] = await Promise.all([
    getJson(`v1/jobs/${job.id}/roll`).catch((error) => showError(`piano roll: ${error.message}`)),
    files.wav ? blobUrl(fileUrl(job.id, files.wav)).then((url) => { audio.src = url; }) : null,
    showScore(job.id),
  ]);
  studio.roll = roll || null;
  if (revised && studio.roll) {  // the bars written again, shown chosen (the job counts bars from 1, pickup too)
    const numbers = studio.roll.bars.map(([, number]) => number);
    studio.selection = [numbers[revised[0] - 1], numbers[revised[1] - 1]];
    $("summary").textContent += ` · bars ${barText(studio.selection)} written again (the best of ` +
      `${report.revised.versions})`;
  }
  $("revise-bars").value = studio.selection ? barText(studio.selection) : "";
  drawRoll();
  placeCursor(0);
}

async function showScore(jobId) {
  const pages = $("pages");
  pages.replaceChildren();
  try {
    const first = await api(`v1/jobs/${jobId}/score.svg`);
    const count = Number(first.headers.get("X-Page-Count") || 1);
    const urls = [URL.createObjectURL(await first.blob())];
    studio.objectUrls.push(urls[0]);
    for (let page = 2; page <= count; page++) urls.push(await blobUrl(`v1/jobs/${jobId}/score.svg?page=${page}`));
    urls.forEach((url, index) => {
      const image = new Image();
      image.src = url;
      image.alt = `The engraved score, page ${index + 1} of ${count}`;
      pages.append(image);
    });
  } catch (error) {
    const note = document.createElement("p");
    note.textContent = `No score: ${error.message}`;
    pages.append(note);
  }
}

function showDownloads(jobId, files) {
  const list = $("downloads");
  list.replaceChildren();
  for (const [format, label] of Object.entries(FILE_LABELS)) {
    if (!files[format]) continue;
    const link = document.createElement("a");
    link.href = fileUrl(jobId, files[format]);
    link.download = files[format];
    link.textContent = `${label}`;
    link.title = files[format];
    link.addEventListener("click", async (event) => {  // with an API key, a plain link would be refused
      if (!studio.apiKey || link.href.startsWith("blob:")) return;
      event.preventDefault();
      link.href = await blobUrl(fileUrl(jobId, files[format]));
      link.click();
    });
    const item = document.createElement("li");
    item.append(link);
    list.append(item);
  }
}

function cell(row, text, header = false) {
  const element = document.createElement(header ? "th" : "td");
  if (header) element.scope = "row";
  element.textContent = text;
  row.append(element);
  return element;
}

function showReport(report) {
  const body = $("adherence").tBodies[0];
  body.replaceChildren();
  for (const [label, entry] of Object.entries(report.adherence || {})) {
    const row = body.insertRow();
    cell(row, label.replace("_", " "), true);
    cell(row, (entry.asked ?? "") + (entry.chosen_by === "plan" ? " (the plan's choice)" : ""));
    cell(row, entry.heard ?? "");
    cell(row, entry.met ? "yes" : "no").className = entry.met ? "met" : "missed";
  }
  const reading = $("reading");
  reading.replaceChildren();
  for (const line of (report.plan || {}).prompt_reading || []) {
    const item = document.createElement("li");
    item.textContent = line;
    reading.append(item);
  }
  const originality = report.originality || {};
  const longest = originality.longest || {};
  $("originality").textContent = !originality.checked ? "Not checked against the training data." :
    `${originality.verdict}: the longest run of notes shared with one training work is ` +
    `${longest.longest_notes ?? 0} notes (${longest.part_name || "no part"}; the limit is ` +
    `${longest.threshold_notes ?? "?"}); ${originality.resamplings || 0} resampling(s) while composing.`;
}

// ---------------------------------------------------------------- the piano roll and its cursor
function drawRoll() {
  const canvas = $("roll");
  const roll = studio.roll;
  const scale = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const pen = canvas.getContext("2d");
  pen.setTransform(scale, 0, 0, scale, 0, 0);
  pen.fillStyle = "#fbfbfd";
  pen.fillRect(0, 0, width, height);
  if (!roll || !roll.duration_s) return;
  const low = roll.lowest_pitch - 2;
  const rows = roll.highest_pitch + 2 - low + 1;
  const rowHeight = height / rows;
  const x = (seconds) => (seconds / roll.duration_s) * width;
  pen.font = "10px sans-serif";
  if (studio.selection) {
    const [first, last] = studio.selection;
    roll.bars.forEach(([start, number], index) => {
      if (number < first || number > last) return;
      const end = index + 1 < roll.bars.length ? roll.bars[index + 1][0] : roll.duration_s;
      pen.fillStyle = "rgba(31, 111, 235, 0.12)";
      pen.fillRect(x(start), 0, x(end) - x(start), height);
    });
  }
  for (const [start, number] of roll.bars) {
    pen.fillStyle = "#d0d4dc";
    pen.fillRect(Math.round(x(start)), 0, 1, height);
    pen.fillStyle = "#6e7781";
    pen.fillText(String(number), x(start) + 3, 11);
  }
  for (const [onset, end, pitch, part] of roll.notes) {
    pen.fillStyle = PART_COLOURS[part % PART_COLOURS.length];
    pen.fillRect(x(onset), (roll.highest_pitch + 2 - pitch) * rowHeight, Math.max(x(end) - x(onset) - 1, 1.5),
                 Math.max(rowHeight - 1, 1.5));
  }
}

function placeCursor(seconds) {
  const roll = studio.roll;
  const width = $("roll").clientWidth;
  const left = roll && roll.duration_s ? Math.min(seconds / roll.duration_s, 1) * width : 0;
  $("cursor").style.left = `${left.toFixed(1)}px`;
  $("cursor").dataset.seconds = seconds.toFixed(3);
}

function followAudio() {
  const audio = $("audio");
  placeCursor(audio.currentTime);
  if (!audio.paused && !audio.ended) requestAnimationFrame(followAudio);
}

function seekFromRoll(event) {
  const roll = studio.roll;
  if (event.shiftKey) {
    chooseBar(event);
    return;
  }
  if (!roll || !$("audio").src) return;
  const box = $("roll").getBoundingClientRect();
  $("audio").currentTime = ((event.clientX - box.left) / box.width) * roll.duration_s;
  $("audio").play();
}

// ---------------------------------------------------------------- history
function describe(job) {
  const asked = (job.request && job.request.request) || {};
  const words = job.kind === "revise" ? [`bars ${asked.bars}`] : [asked.ensemble, asked.key, asked.meter, asked.mood,
    asked.epoch, asked.bars && `${asked.bars} bars`, asked.prompt && `“${asked.prompt.slice(0, 40)}”`].filter(Boolean);
  const when = new Date(job.created * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  return `${when} ${job.kind}${words.length ? ": " + words.join(", ") : ""} — ${job.state}`;
}

async function loadHistory() {
  try {
    const {jobs} = await getJson("v1/jobs?limit=20");
    const list = $("history");
    list.replaceChildren();
    for (const job of jobs) {
      const link = document.createElement("a");
      link.href = `#${job.id}`;
      link.textContent = describe(job);
      if (job.id === studio.following) link.setAttribute("aria-current", "true");
      const item = document.createElement("li");
      item.className = job.state;
      item.append(link);
      list.append(item);
    }
  } catch (error) {
    showError(error.message);
  }
}

// ---------------------------------------------------------------- start
function openFromHash() {
  const jobId = location.hash.slice(1);
  if (/^[0-9a-f]{32}$/.test(jobId)) openJob(jobId).catch((error) => showError(error.message));
}

async function start() {
  try {
    await loadChoices();
  } catch (error) {
    showError(error.message);
    return;
  }
  loadHistory();
  openFromHash();
}

$("request").addEventListener("submit", compose);
$("cancel").addEventListener("click", cancelJob);
onApiKeyEntered(studio, showError, start);
$("audio").addEventListener("play", followAudio);
$("audio").addEventListener("seeked", () => placeCursor($("audio").currentTime));
$("audio").addEventListener("timeupdate", () => placeCursor($("audio").currentTime));
$("roll").addEventListener("click", seekFromRoll);
window.addEventListener("hashchange", openFromHash);
window.addEventListener("resize", () => { drawRoll(); placeCursor($("audio").currentTime); });
start();
