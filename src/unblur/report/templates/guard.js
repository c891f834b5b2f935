// First script of the report page: records any script error on <html> (data-js-error),
// so that a test in a real browser can tell the page ran cleanly.
(function () {
  function mark(text) {
    var root = document.documentElement;
    var old = root.getAttribute("data-js-error") || "";
    root.setAttribute("data-js-error", old + String(text) + ";");
  }
  window.addEventListener("error", function (e) { mark(e.message || "error"); });
  window.addEventListener("unhandledrejection", function (e) { mark(e.reason || "rejection"); });
})();
