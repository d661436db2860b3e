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

  // A poll after the session expired gets the sign-in page: reload instead of swapping it in.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var url = (event.detail.xhr && event.detail.xhr.responseURL) || "";
    if (url.indexOf("/accounts/login/") !== -1) {
      event.detail.shouldSwap = false;
      window.location.reload();
    }
  });

  // Fields that only matter for one role (e.g. "Teams led" for supervisors) follow the role.
  function syncRoleFields(select) {
    var form = select.form;
    if (!form) return;
    form.querySelectorAll("[data-for-role]").forEach(function (el) {
      el.hidden = el.getAttribute("data-for-role").split(" ").indexOf(select.value) === -1;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name=role]")) syncRoleFields(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[name=role]").forEach(syncRoleFields);
  });

  // Destructive forms ask first (the server never relies on this).
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
