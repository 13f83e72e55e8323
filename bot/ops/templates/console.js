// Live updates: the server pushes dialog-log events (SSE); the page re-fetches its own server-rendered
// parts (elements with data-part) and swaps them in. No framework, no build step.
(function () {
  "use strict";
  var source = document.body.getAttribute("data-events");
  if (!source || !document.querySelector("[data-part]")) { return; }
  var dot = document.getElementById("live-dot");
  var note = document.getElementById("live-text");
  var busy = false, again = false, timer = null;

  function state(on) {
    if (!dot) { return; }
    dot.classList.toggle("on", on);
    document.body.setAttribute("data-live", on ? "on" : "off");
    if (note) { note.textContent = note.getAttribute(on ? "data-on" : "data-off"); }
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    var url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    fetch(url.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) { return; }
        var fresh = document.createElement("template");
        fresh.innerHTML = html;  // rendered and escaped by the server, personal data masked
        fresh.content.querySelectorAll("[data-part]").forEach(function (part) {
          var target = document.getElementById(part.id);
          if (target) { target.innerHTML = part.innerHTML; }
        });
        document.body.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { /* the next event tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  var events = new EventSource(source);
  events.addEventListener("log", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 120);
  });
  events.onopen = function () { state(true); };
  events.onerror = function () { state(false); };
}());
