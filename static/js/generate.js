// The generate page: the LoRA picker and the img2img starting picture. The form works without it:
// a member can type <lora:name:weight> and the strength slider is simply always shown.
(function () {
  "use strict";
  var form = document.querySelector("form.generate-form");
  if (!form) return;
  var prompt = document.getElementById("id_prompt");
  var modelSelect = document.getElementById("id_model_version");

  var fieldOf = function (input) { return input && input.closest(".field"); };
  var readJson = function (id, fallback) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : fallback;
  };

  // ---- LoRA picker: LoRAs of the chosen model's base model, inserted as <lora:NAME:WEIGHT>.
  var picker = form.querySelector("[data-lora-picker]");
  if (picker && prompt && modelSelect) {
    var loras = readJson("lora-picker-data", []);
    var bases = readJson("model-bases", {});
    var controls = picker.querySelector("[data-lora-controls]");
    var select = picker.querySelector("[data-lora-select]");
    var weight = picker.querySelector("#lora-weight");
    var list = picker.querySelector("[data-lora-list]");
    var empty = picker.querySelector("[data-lora-empty]");
    var promptField = fieldOf(prompt);
    if (promptField) promptField.parentNode.insertBefore(picker, promptField.nextSibling);
    list.hidden = true;  // the select replaces the plain list of tags

    var refresh = function () {
      var base = bases[modelSelect.value];
      select.textContent = "";
      loras.forEach(function (lora) {
        if (lora.base !== base) return;
        var option = document.createElement("option");
        option.value = option.textContent = lora.name;
        select.appendChild(option);
      });
      var none = select.options.length === 0;
      controls.hidden = none;
      empty.hidden = !none;
    };
    modelSelect.addEventListener("change", refresh);
    refresh();

    // Insert at the caret once the member has placed one in the prompt; at the end before that.
    var caretPlaced = false;
    ["focus", "click", "keyup", "select"].forEach(function (name) {
      prompt.addEventListener(name, function () { caretPlaced = true; });
    });
    picker.querySelector("[data-lora-add]").addEventListener("click", function () {
      if (!select.value) return;
      var value = Number(weight.value);
      if (!weight.value || !isFinite(value)) value = 1;
      value = Math.min(2, Math.max(-2, value));
      weight.value = String(value);
      var tag = "<lora:" + select.value + ":" + String(Math.round(value * 100) / 100) + ">";
      var text = prompt.value;
      var start = caretPlaced ? prompt.selectionStart : text.length;
      var end = caretPlaced ? prompt.selectionEnd : text.length;
      var before = text.slice(0, start);
      var after = text.slice(end);
      if (before && !/\s$/.test(before)) tag = " " + tag;
      if (after && !/^\s/.test(after)) tag = tag + " ";
      prompt.value = before + tag + after;
      var caret = (before + tag).length;
      prompt.focus();
      prompt.setSelectionRange(caret, caret);
      prompt.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }

  // ---- img2img: a preview of the chosen picture; the strength slider only matters with one.
  var fileInput = document.getElementById("id_init_image");
  var strength = document.getElementById("id_denoising_strength");
  var preview = form.querySelector("[data-init-preview]");
  if (fileInput && strength && preview) {
    var fileField = fieldOf(fileInput);
    var strengthField = fieldOf(strength);
    var image = preview.querySelector("[data-init-preview-image]");
    var again = form.querySelector("[data-init-again]");
    fileInput.insertAdjacentElement("afterend", preview);
    if (again && fileField) fileField.appendChild(again);
    var objectUrl = null;

    var update = function () {
      var file = fileInput.files && fileInput.files[0];
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = file ? URL.createObjectURL(file) : null;
      if (objectUrl) image.src = objectUrl; else image.removeAttribute("src");
      preview.hidden = !file;
      if (file && again) again.hidden = true;
      // A strength error stays visible so the member can fix it.
      var show = Boolean(file) || strengthField.classList.contains("field-invalid");
      strengthField.hidden = !show;
      strength.disabled = !show;
    };
    fileInput.addEventListener("change", update);
    preview.querySelector("[data-init-clear]").addEventListener("click", function () {
      fileInput.value = "";
      update();
      fileInput.focus();
    });
    update();
  }
})();
