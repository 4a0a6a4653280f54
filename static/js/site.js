// Progressive enhancements shared by every page. Pages work without it.
(function () {
  "use strict";
  // Show the value of range sliders next to their label.
  document.querySelectorAll('input[type="range"]').forEach(function (input) {
    var out = document.querySelector('output[for="' + input.id + '"]');
    if (!out) return;
    var show = function () { out.textContent = input.value; };
    out.hidden = false;
    show();
    input.addEventListener("input", show);
  });
  // Destructive forms ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // Seed helpers on the generate page: random (-1) and reuse the last seed.
  var seedTools = document.querySelector("[data-seed-tools]");
  var seedInput = document.getElementById("id_seed");
  if (seedTools && seedInput) {
    seedTools.hidden = false;
    seedInput.parentNode.appendChild(seedTools);
    seedTools.querySelectorAll("[data-seed-value]").forEach(function (button) {
      button.addEventListener("click", function () { seedInput.value = button.dataset.seedValue; });
    });
  }
  // The language selector switches as soon as a language is picked.
  var lang = document.getElementById("language-select");
  if (lang) lang.addEventListener("change", function () { lang.form.submit(); });
})();
