// Cadenza Studio, shared by its pages: the element lookup and a fetch of this server's /v1 routes that sends
// the API key when one is set and turns a refusal into an Error with the server's one-line message.
"use strict";

const $ = (id) => document.getElementById(id);

async function cadenzaFetch(path, apiKey, options = {}) {
  const headers = {...(options.headers || {})};
  if (apiKey) headers["X-API-Key"] = apiKey;
  const response = await fetch(path, {...options, headers});
  if (response.status === 401) {
    $("key-form").hidden = false;
    throw new Error("this server needs its API key (above)");
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (ignored) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

// The key form: the key typed is kept for the session in `state.apiKey`, and the page starts again if its choices
// never came (the first request was refused for want of the key).
function onApiKeyEntered(state, showError, start) {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.apiKey = $("api-key").value;
    sessionStorage.setItem("cadenza-api-key", state.apiKey);
    $("key-form").hidden = true;
    showError("");
    if (!state.choices) start();
  });
}
