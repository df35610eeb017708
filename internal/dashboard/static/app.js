// opencrvs-mosip dashboard: the little it does without a round trip.
"use strict";
(function () {
  // Pages of work in progress reload themselves, unless the operator is
  // typing in a form.
  var every = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
  if (every > 0) {
    setTimeout(function tick() {
      var active = document.activeElement;
      var typing = active && (active.tagName === "INPUT" || active.tagName === "SELECT") && active.value !== "";
      if (typing) { setTimeout(tick, every * 1000); return; }
      location.reload();
    }, every * 1000);
  }
  // Forms that do something hard to undo ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });
})();
