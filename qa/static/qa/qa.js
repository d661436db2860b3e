// QA pages: small comforts only; every form works without JavaScript.
(function () {
  "use strict";

  // Criterion form: show "Custom points" only for the custom scale, and the failure settings
  // only for a critical criterion (fields with an error always stay visible).
  function box(id) {
    var el = document.getElementById(id);
    return el ? el.closest(".mb-3") : null;
  }
  function show(el, visible) {
    if (el && !el.querySelector(".is-invalid, .invalid-feedback")) el.hidden = !visible;
  }
  function sync() {
    var scale = document.getElementById("id_scale");
    var critical = document.getElementById("id_critical");
    if (scale) show(box("id_custom_points"), scale.value === "custom");
    if (critical) {
      show(box("id_critical_effect"), critical.checked);
      show(box("id_fail_at_or_below"), critical.checked);
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.id === "id_scale" || event.target.id === "id_critical") sync();
  });
  document.addEventListener("DOMContentLoaded", sync);
})();
