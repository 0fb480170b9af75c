// Live run progress over a websocket: the socket only says "changed"; htmx fetches the HTML.
//
// An element with data-live-socket="/ws/runs/…/" and data-live-target="#id" listens; the
// target carries data-live-url (the partial to fetch) and, once the run is final,
// data-live-done, which ends the listening. Lost sockets reconnect with backoff.
(function () {
  "use strict";

  const FIRST_DELAY = 1000;
  const MAX_DELAY = 30000;
  const SPACING = 500;

  function refresher(selector) {
    let busy = false;
    let again = false;
    return function refresh() {
      const target = document.querySelector(selector);
      if (!target || !target.dataset.liveUrl) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      htmx.ajax("GET", target.dataset.liveUrl, { target: selector, swap: "outerHTML" })
        .catch(function () {})
        .finally(function () {
          setTimeout(function () {
            busy = false;
            if (again) {
              again = false;
              refresh();
            }
          }, SPACING);
        });
    };
  }

  function isDone(selector) {
    const target = document.querySelector(selector);
    return !target || target.hasAttribute("data-live-done");
  }

  function listen(element) {
    const selector = element.dataset.liveTarget;
    const refresh = refresher(selector);
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const url = scheme + "//" + window.location.host + element.dataset.liveSocket;
    let delay = FIRST_DELAY;
    let socket = null;

    function connect() {
      if (isDone(selector)) return;
      socket = new WebSocket(url);
      // Catch up on whatever changed while the socket was not there.
      socket.addEventListener("open", function () {
        delay = FIRST_DELAY;
        refresh();
      });
      socket.addEventListener("message", refresh);
      socket.addEventListener("close", function () {
        if (isDone(selector)) return;
        const wait = delay + Math.random() * delay * 0.3;
        delay = Math.min(delay * 2, MAX_DELAY);
        setTimeout(connect, wait);
      });
    }

    document.body.addEventListener("htmx:afterSettle", function () {
      if (socket && isDone(selector)) socket.close();
    });
    connect();
  }

  function start() {
    document.querySelectorAll("[data-live-socket]").forEach(listen);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
