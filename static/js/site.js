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
  // Size presets: ratios around the chosen model's native size (multiples of 64).
  var presets = document.querySelector("[data-size-presets]");
  var sizesData = document.getElementById("model-sizes");
  var widthSelect = document.getElementById("id_width");
  var heightSelect = document.getElementById("id_height");
  var modelSelect = document.getElementById("id_model_version");
  if (presets && sizesData && widthSelect && heightSelect && modelSelect) {
    var sizes = JSON.parse(sizesData.textContent);
    presets.hidden = false;
    widthSelect.parentNode.parentNode.insertBefore(presets, widthSelect.parentNode);
    var snap = function (select, value) {
      var best = null;
      Array.prototype.forEach.call(select.options, function (o) {
        var v = Number(o.value);
        if (best === null || Math.abs(v - value) < Math.abs(Number(best.value) - value)) best = o;
      });
      select.value = best.value;
    };
    presets.querySelectorAll("[data-ratio]").forEach(function (button) {
      button.addEventListener("click", function () {
        var base = (sizes[modelSelect.value] || [512, 512])[0];
        var parts = button.dataset.ratio.split(":").map(Number);
        var long = Math.round((base * 1.5) / 64) * 64 || base;
        snap(widthSelect, parts[0] > parts[1] ? long : base);
        snap(heightSelect, parts[1] > parts[0] ? long : base);
      });
    });
  }
  // Choosing a model sets the CFG scale it recommends (the member can still change it).
  var cfgData = document.getElementById("model-cfg");
  var cfgInput = document.getElementById("id_cfg_scale");
  if (cfgData && cfgInput && modelSelect) {
    var recommended = JSON.parse(cfgData.textContent);
    modelSelect.addEventListener("change", function () {
      if (recommended[modelSelect.value] !== undefined) cfgInput.value = recommended[modelSelect.value];
    });
  }
  // The language selector switches as soon as a language is picked.
  var lang = document.getElementById("language-select");
  if (lang) lang.addEventListener("change", function () { lang.form.submit(); });
})();
