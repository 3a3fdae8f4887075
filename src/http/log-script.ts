/**
 * /log.js, the log page's script, as text (as console-script.ts, for the same reasons). It adds the lines
 * /log/ws sends (log-feed.ts) as list items, their text set with textContent only (a line carries what
 * devices said: it is never parsed as HTML), hides those the level and device filters leave out, keeps
 * the page's last lines (the oldest go), follows the newest while scrolled to the end, and reconnects when
 * the socket drops (the history it is sent again replaces what the page had).
 */
export const LOG_SCRIPT = `"use strict";
(function () {
  var RANK = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
  var live = document.getElementById("live");
  var list = document.getElementById("lines");
  var level = document.getElementById("level");
  var device = document.getElementById("device");
  var max = Number(list.dataset.max);
  function shown(item) {
    return (RANK[item.dataset.level] || RANK.info) >= RANK[level.value] && (device.value === "" || item.dataset.device === device.value);
  }
  function filter() {
    for (var item = list.firstElementChild; item !== null; item = item.nextElementSibling) item.hidden = !shown(item);
  }
  level.addEventListener("change", filter);
  device.addEventListener("change", filter);
  function add(lines) {
    var atEnd = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    lines.forEach(function (line) {
      var item = document.createElement("li");
      item.dataset.level = line.level;
      if (line.device !== undefined) item.dataset.device = line.device;
      item.textContent = line.text;
      item.hidden = !shown(item);
      list.appendChild(item);
    });
    while (list.childElementCount > max) list.firstElementChild.remove();
    if (atEnd) window.scrollTo(0, document.body.scrollHeight);
  }
  var delay = 500;
  function connect() {
    var socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/log/ws");
    socket.onopen = function () {
      delay = 500;
      list.textContent = "";
      live.dataset.live = "on";
      live.textContent = "live";
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "lines") add(message.lines);
    };
    socket.onclose = function () {
      live.dataset.live = "off";
      live.textContent = "not live: reconnecting";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  connect();
})();
`;
