// Cadenza Studio, the soundtrack page: a live stream over this server's /v1/live WebSocket, steered by mood,
// valence, arousal and intensity (control messages in), shown bar by bar as its events arrive (cue, control,
// bar, beat and note events out), and optionally played with WebAudio oscillators.
"use strict";

const LOG_ROWS = 64;  // bars kept in the log (older ones leave it)
const AUDIO_LEAD_S = 0.15;  // how far after a bar's arrival its first beat sounds
const MAX_VOICES = 48;  // notes sounding at once, at most (more are not played)

const live = {
  apiKey: sessionStorage.getItem("cadenza-api-key") || "",
  choices: null,  // GET /v1/studio/choices: .live has the moods, their centres, the ranges and speeds
  socket: null,
  queryMood: null,  // the mood the stream was opened with
  streaming: false,  // the server has sent its start event and no end yet
  speed: 1,
  clock0: null,  // performance.now() / 1000 when the first bar arrived (music second 0)
  row: null,  // the log row of the last bar received
  changes: [],  // controls first heard in the next bar (control events come before its bar event)
  cue: null,  // the last cue received: {name, mood, bar}
  audio: null,  // the AudioContext, once sound is asked for
  master: null,
  voices: 0,
  scheduled: 0,  // notes scheduled to sound
};

// ---------------------------------------------------------------- the API
const getJson = async (path) => (await cadenzaFetch(path, live.apiKey)).json();  // see api.js

function showError(message) {
  $("live-error").textContent = message;
  $("live-error").hidden = !message;
}

const signed = (value) => `${value >= 0 ? "+" : ""}${Number(value).toFixed(1)}`;

// ---------------------------------------------------------------- the controls
async function loadChoices() {
  const choices = live.choices = await getJson("v1/studio/choices");
  for (const ensemble of choices.ensembles) $("live-ensemble").append(new Option(ensemble.name, ensemble.name));
  $("live-ensemble").value = "piano";
  for (const speed of choices.live.speeds) {
    $("live-speed").append(new Option(speed ? `${speed}× real time` : "as fast as it is written", String(speed)));
  }
  for (const mood of choices.live.moods) $("live-mood").append(new Option(mood, mood));
  for (const name of ["valence", "arousal", "intensity"]) {
    const [low, high] = choices.live.ranges[name];
    Object.assign($(`live-${name}`), {min: low, max: high});
  }
  $("live-mood").value = choices.live.default_mood;
  showMoodCentre(choices.live.default_mood);
}

function slider(name, value) {
  if (value !== undefined) $(`live-${name}`).value = String(value);
  const number = Number($(`live-${name}`).value);
  $(`live-${name}`).nextElementSibling.textContent = name === "intensity" ? number.toFixed(2) : signed(number);
  return number;
}

// intensity is arousal on a 0..1 scale (the stream hears it so): the two sliders move together
const intensityOf = (arousal) => (arousal + 1) / 2;

function showMoodCentre(mood) {
  const [valence, arousal] = live.choices.live.centres[mood];
  slider("valence", valence);
  slider("arousal", arousal);
  slider("intensity", intensityOf(arousal));
}

// the mood word of a (valence, arousal) point: the mood whose centre lies in the same quadrant
function quadrant(valence, arousal) {
  const centres = live.choices.live.centres;
  return Object.keys(centres).find((mood) => (centres[mood][0] >= 0) === (valence >= 0) &&
                                             (centres[mood][1] >= 0) === (arousal >= 0));
}

// a cue's name is its mood word, or "v+0.5 a-0.2" when it is steered by valence and arousal
function moodOfCue(name) {
  if (name in live.choices.live.centres) return name;
  const match = /^v([+-]?[\d.]+) a([+-]?[\d.]+)$/.exec(name);
  return match ? quadrant(Number(match[1]), Number(match[2])) : name;
}

function describeChange(change) {
  return Object.entries(change).filter(([name]) => name !== "type" && name !== "t")
    .map(([name, value]) => `${name} ${typeof value === "number" ? signed(value) : value}`).join(", ");
}

function send(change) {
  $("live-asked").textContent = `Asked: ${describeChange(change)}` +
    (live.streaming ? " (sent)" : " (from the start)");
  $("live-asked").dataset.ackBar = "";
  if (live.streaming && live.socket && live.socket.readyState === WebSocket.OPEN) {
    live.socket.send(JSON.stringify(change));
  }
}

// the controls as they stand, as messages (sent when a stream starts with what was set before it)
function currentControls() {
  const mood = $("live-mood").value;
  if (mood) return [{mood}];
  const arousal = slider("arousal");
  return [{valence: slider("valence"), arousal, intensity: intensityOf(arousal)}];
}

function moodChosen() {
  const mood = $("live-mood").value;
  if (!mood) {
    send(currentControls()[0]);
    return;
  }
  showMoodCentre(mood);
  send({mood});
}

function pointMoved(event) {
  // a mood word gives way to valence and arousal; intensity follows arousal, and the other way round
  $("live-mood").value = "";
  if (event.target.id === "live-intensity") {
    const intensity = slider("intensity");
    slider("arousal", 2 * intensity - 1);
    send({intensity});
    return;
  }
  send(currentControls()[0]);
  slider("intensity", intensityOf(slider("arousal")));
}

// ---------------------------------------------------------------- the stream
function liveUrl() {
  const url = new URL("v1/live", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  live.queryMood = $("live-mood").value || live.choices.live.default_mood;
  const query = {mood: live.queryMood, ensemble: $("live-ensemble").value,
                 seed: $("live-seed").value || "0", speed: $("live-speed").value};
  if (live.apiKey) query.api_key = live.apiKey;
  url.search = new URLSearchParams(query).toString();
  return url.toString();
}

function startStream(event) {
  event.preventDefault();
  if (live.socket) return;
  showError("");
  resetShown();
  live.speed = Number($("live-speed").value);
  if ($("live-sound").checked) startAudio();
  const socket = live.socket = new WebSocket(liveUrl());
  $("live-start").disabled = true;
  $("live-stop").disabled = false;
  $("live-state").textContent = "connecting";
  socket.addEventListener("message", (message) => {
    try {
      receive(JSON.parse(message.data));
    } catch (error) {
      showError(`an event could not be shown: ${error.message}`);
    }
  });
  socket.addEventListener("close", (closed) => {
    if (live.socket !== socket) return;
    live.socket = null;
    live.streaming = false;
    $("live-start").disabled = false;
    $("live-stop").disabled = true;
    if (!$("live-state").dataset.ended) {
      $("live-state").textContent = `closed (${closed.reason || `code ${closed.code}`})`;
    }
  });
}

function stopStream() {
  if (live.socket && live.socket.readyState === WebSocket.OPEN) live.socket.send(JSON.stringify({stop: true}));
  $("live-stop").disabled = true;
  $("live-state").textContent = "stopping";
}

function resetShown() {
  $("live-log").tBodies[0].replaceChildren();
  Object.assign(live, {row: null, changes: [], cue: null, clock0: null, streaming: false});
  for (const id of ["live-bar", "live-key", "live-tempo", "live-meter", "live-mood-now"]) $(id).textContent = "—";
  delete $("live-mood-now").dataset.bar;
  delete $("live-state").dataset.ended;
}

function receive(event) {
  switch (event.type) {
    case "start":
      live.streaming = true;
      $("live-state").textContent = `streaming (${event.ensemble}, seed ${event.seed})`;
      // the mood went with the query; anything else set before the stream began (or since) is sent now
      if ($("live-mood").value !== live.queryMood) currentControls().forEach(send);
      break;
    case "cue": showCue(event); break;
    case "control": live.changes.push(describeChange(event)); break;
    case "bar": showBar(event); break;
    case "note": countNote(event); break;
    case "ack":
      if (event.control.stop) break;
      $("live-asked").textContent = `Asked: ${describeChange(event.control)}; acknowledged after bar ${event.bar}, ` +
        `heard by bar ${event.bar + 2} at the latest`;
      $("live-asked").dataset.ackBar = String(event.bar);
      break;
    case "error": showError(event.error); break;
    case "end":
      live.streaming = false;
      $("live-state").dataset.ended = event.stopped;
      $("live-state").textContent = `ended (${event.stopped}): ${event.chunks} bars, ` +
        `${Number(event.music_s).toFixed(0)} s of music`;
      break;
    default: break;  // beats: the bar row is enough
  }
}

function showCue(event) {
  const mood = moodOfCue(event.name);
  const changed = !live.cue || live.cue.mood !== mood;
  live.cue = {name: event.name, mood, bar: event.bar, changed: changed || live.cue.name !== event.name};
  if (changed) {
    $("live-mood-now").textContent = `${mood} from bar ${event.bar}` + (mood === event.name ? "" : ` (${event.name})`);
    $("live-mood-now").dataset.mood = mood;
    $("live-mood-now").dataset.bar = String(event.bar);
  }
}

function showBar(event) {
  if (live.clock0 === null) live.clock0 = performance.now() / 1000 - event.t / (live.speed || Infinity);
  $("live-bar").textContent = String(event.bar);
  $("live-key").textContent = event.key;
  $("live-tempo").textContent = `${Math.round(event.tempo_bpm)} bpm`;
  $("live-meter").textContent = event.meter;
  const body = $("live-log").tBodies[0];
  const row = body.insertRow(0);
  row.dataset.bar = String(event.bar);
  const cue = live.cue && live.cue.bar === event.bar ? live.cue : null;
  const minutes = Math.floor(event.t / 60);
  const seconds = (event.t - 60 * minutes).toFixed(1).padStart(4, "0");
  const cells = [event.bar, `${minutes}:${seconds}`, event.key, Math.round(event.tempo_bpm), event.meter, 0,
    cue ? cue.mood + (cue.mood === cue.name ? "" : ` (${cue.name})`) : "", live.changes.join("; ")];
  for (const text of cells) row.insertCell().textContent = String(text);
  row.cells[5].className = "notes";
  if (cue && cue.changed) row.className = "cue-change";
  live.changes = [];
  live.row = row;
  while (body.rows.length > LOG_ROWS) body.deleteRow(-1);
}

function countNote(event) {
  if (live.row) live.row.cells[5].textContent = String(Number(live.row.cells[5].textContent) + 1);
  playNote(event);
}

// ---------------------------------------------------------------- sound: a triangle wave per note
function startAudio() {
  if (!live.audio) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) {
      showError("this browser has no WebAudio: the events are shown without sound");
      return;
    }
    live.audio = new Context();
    live.master = live.audio.createGain();
    live.master.gain.value = 0.5;
    live.master.connect(live.audio.destination);
  }
  live.audio.resume();
}

function playNote(event) {
  const audio = live.audio;
  if (!audio || !$("live-sound").checked || !live.speed || live.clock0 === null || live.voices >= MAX_VOICES) return;
  const at = audio.currentTime + (live.clock0 + event.t / live.speed + AUDIO_LEAD_S - performance.now() / 1000);
  if (at < audio.currentTime) return;  // late: skipped rather than played out of time
  const length = Math.max(event.duration_s / live.speed, 0.05);
  const oscillator = audio.createOscillator();
  const envelope = audio.createGain();
  oscillator.type = "triangle";
  oscillator.frequency.value = 440 * 2 ** ((event.pitch - 69) / 12);
  envelope.gain.setValueAtTime(0, at);
  envelope.gain.linearRampToValueAtTime(0.15 * event.velocity / 127, at + 0.01);
  envelope.gain.setTargetAtTime(0, at + length, 0.08);
  oscillator.connect(envelope).connect(live.master);
  oscillator.start(at);
  oscillator.stop(at + length + 0.5);
  live.voices += 1;
  live.scheduled += 1;
  oscillator.addEventListener("ended", () => { live.voices -= 1; envelope.disconnect(); });
}

// ---------------------------------------------------------------- start
async function start() {
  try {
    await loadChoices();
  } catch (error) {
    showError(error.message);
    return;
  }
  $("live-start").disabled = false;
}

$("live-start").disabled = true;  // until the choices are loaded
$("stream").addEventListener("submit", startStream);
$("live-stop").addEventListener("click", stopStream);
$("live-mood").addEventListener("change", moodChosen);
for (const name of ["valence", "arousal", "intensity"]) {
  $(`live-${name}`).addEventListener("input", () => {
    slider(name);
    if (name === "intensity") slider("arousal", 2 * slider("intensity") - 1);
    else if (name === "arousal") slider("intensity", intensityOf(slider("arousal")));
  });
  $(`live-${name}`).addEventListener("change", pointMoved);
}
$("live-sound").addEventListener("change", () => { if ($("live-sound").checked) startAudio(); });
onApiKeyEntered(live, showError, start);
start();
