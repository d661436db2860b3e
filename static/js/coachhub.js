// CoachHub's own small behaviours. Everything works without JavaScript; this only adds comfort.
(function () {
  "use strict";

  // The bell refreshes itself every 30 s, but not while its menu is open (it would close it).
  window.coachhubBellIdle = function () {
    return !document.querySelector("#notification-bell .dropdown-menu.show");
  };

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy-target"));
    if (!input) return;
    input.select();
    var label = button.querySelector("span");
    var done = function () { if (label) label.textContent = "Copied"; };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  // Destructive forms ask first (the server never relies on this).
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
