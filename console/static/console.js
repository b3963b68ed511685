// scv console: the live parts of a page. An element with data-live="/path" is replaced every
// data-every milliseconds by the HTML fragment that path returns (same origin; no library).
"use strict";
(function () {
  function refresh(element) {
    var every = Number(element.getAttribute("data-every")) || 1000;
    fetch(element.getAttribute("data-live"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        element.innerHTML = html;
        element.removeAttribute("data-stale");
      })
      .catch(function () {
        // Shown as stale (dimmed) until the next read succeeds; the page keeps working.
        element.setAttribute("data-stale", "true");
      })
      .finally(function () { window.setTimeout(function () { refresh(element); }, every); });
  }
  document.querySelectorAll("[data-live]").forEach(function (element) {
    var every = Number(element.getAttribute("data-every")) || 1000;
    window.setTimeout(function () { refresh(element); }, every);
  });
})();
