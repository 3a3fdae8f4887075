/**
 * /console.js, the console page's one script, as text: served by hearth itself (so the compiled binary
 * carries it, and the Content-Security-Policy allows no other), with no build step. It keeps the page's
 * `data-t` cells up to date from the WebSocket's messages (console-feed.ts), setting only textContent (a
 * device's strings are never parsed as HTML), reconnects when the socket drops, and sends the controls'
 * forms with fetch so the outcome shows on the page (the form carries its CSRF token, as any POST must).
 */
export const CONSOLE_SCRIPT = `"use strict";
(function () {
  var live = document.getElementById("live");
  function setLive(on, text) {
    live.dataset.live = on ? "on" : "off";
    live.textContent = text;
  }
  function fill(root, text) {
    root.querySelectorAll("[data-t]").forEach(function (cell) {
      var value = text[cell.dataset.t];
      if (value !== undefined && cell.textContent !== value) cell.textContent = value;
    });
  }
  function onMessage(event) {
    var message = JSON.parse(event.data);
    if (message.type === "overview") fill(document.getElementById("overview"), message.overview.text);
    else if (message.type === "devices") {
      message.devices.forEach(function (device) {
        var article = document.querySelector('[data-device="' + CSS.escape(device.id) + '"]');
        if (article === null) return;
        article.dataset.available = String(device.available);
        fill(article, device.text);
      });
    } else if (message.type === "reload" && !leaving) location.reload(); // not over a form on its way (a firmware image)
  }
  var leaving = false;
  var delay = 500;
  function connect() {
    var socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    socket.onopen = function () {
      delay = 500;
      setLive(true, "live");
    };
    socket.onmessage = onMessage;
    socket.onclose = function () {
      setLive(false, "not live: reconnecting");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  connect();
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-command]")) {
      leaving = true; // a form the browser posts itself: its answer is the next page
      return;
    }
    event.preventDefault();
    var outcome = form.closest("article").querySelector("[data-outcome]");
    var name = form.closest("tr").querySelector("th").textContent;
    var body = new URLSearchParams(new FormData(form, event.submitter));
    outcome.className = "outcome";
    outcome.textContent = name + ": sending…";
    fetch("/command", { method: "POST", body: body, headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.headers.get("content-type").indexOf("application/json") === 0
          ? response.json()
          : response.text().then(function (text) { return { ok: false, error: text.trim() }; });
      })
      .then(function (result) {
        outcome.className = result.ok ? "outcome ok" : "outcome error";
        outcome.textContent = name + ": " + (result.ok ? "done" : result.error);
      })
      .catch(function (err) {
        outcome.className = "outcome error";
        outcome.textContent = name + ": " + err.message;
      });
  });
})();
`;
