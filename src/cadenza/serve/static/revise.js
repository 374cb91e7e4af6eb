// Cadenza Studio, the composer's page: chosen bars of the piece shown written again by a revise job (the piece's
// MIDI uploaded as its source, then the job followed and its piece shown as a composed one). Loaded after
// studio.js, whose state (studio), requests (api, fileUrl) and drawing (drawRoll) it uses.
"use strict";

const barText = ([first, last]) => (first === last ? String(first) : `${first}-${last}`);

function chooseBar(event) {
  const roll = studio.roll;
  if (!roll || !roll.duration_s) return;
  const box = $("roll").getBoundingClientRect();
  const seconds = ((event.clientX - box.left) / box.width) * roll.duration_s;
  const bar = roll.bars.filter(([start]) => start <= seconds + 1e-6).pop();
  if (!bar) return;
  const number = bar[1];
  studio.anchor = studio.selection && studio.anchor !== null ? studio.anchor : number;
  studio.selection = [Math.min(studio.anchor, number), Math.max(studio.anchor, number)];
  if (studio.selection[0] === studio.selection[1]) studio.anchor = number;
  $("revise-bars").value = barText(studio.selection);
  drawRoll();
}

// the bars typed, as the roll numbers them, checked against the piece: [first, last], or an error
function barsAsked(text) {
  const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  if (!match) throw new Error(`bars ${JSON.stringify(text)}: give a bar or a range, like 5-8`);
  const [first, last] = [Number(match[1]), Number(match[2] || match[1])];
  const numbers = studio.roll ? studio.roll.bars.map(([, number]) => number) : [];
  if (!numbers.includes(first) || !numbers.includes(last) || first > last) {
    throw new Error(`bars ${barText([first, last])}: the piece has bars ${numbers[0]} to ${numbers.at(-1)}`);
  }
  if (first === numbers[0]) {
    throw new Error(`bar ${first} is the first: the bars written again follow the music before them`);
  }
  return [first, last];
}

function typedBars() {
  try {
    studio.selection = barsAsked($("revise-bars").value);
  } catch (ignored) {
    studio.selection = null;  // said when the form is sent
  }
  studio.anchor = null;
  drawRoll();
}

async function sourceOf(piece) {
  let upload = studio.uploads.get(piece.id);
  if (!upload) {
    const midi = await (await api(fileUrl(piece.id, piece.files.piece))).blob();
    const form = new FormData();
    form.append("file", midi, piece.files.piece);
    upload = (await (await api("v1/uploads", {method: "POST", body: form})).json()).id;
    studio.uploads.set(piece.id, upload);
  }
  return upload;
}

async function revise(event) {
  event.preventDefault();
  showError("");
  const piece = studio.piece;
  if (!piece || !piece.files.piece) return;
  $("revise-button").disabled = true;
  try {
    const chosen = barsAsked($("revise-bars").value);
    const numbers = studio.roll.bars.map(([, number]) => number);
    // a revise job counts bars from 1 (a pickup is its bar 1); the roll numbers them as a musician reads them
    const bars = barText(chosen.map((number) => numbers.indexOf(number) + 1));
    const seed = Number($("revise-seed").value);
    const body = {kind: "revise", source: await sourceOf(piece), formats: studio.choices.formats,
                  request: {bars, versions: Number($("revise-versions").value), seed}};
    const job = await (await api("v1/jobs", {method: "POST", headers: {"Content-Type": "application/json"},
                                             body: JSON.stringify(body)})).json();
    $("revise-seed").value = String(seed + 1);  // another revision of these bars writes other music
    location.hash = job.id;
  } catch (error) {
    showError(error.message);
  } finally {
    $("revise-button").disabled = false;
  }
}

$("revise").addEventListener("submit", revise);
$("revise-bars").addEventListener("input", typedBars);
