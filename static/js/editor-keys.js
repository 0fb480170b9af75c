// The editor's keyboard shortcuts, listed under its "?" button:
// - Ctrl/Cmd+Z undoes, Ctrl/Cmd+Shift+Z (or Ctrl+Y) redoes: they press Undo and Redo.
// - Delete or Backspace deletes the selected step, without asking: Undo brings it back.
// - ? opens the list of shortcuts, Escape closes it.
// None of them act while focus is in a field, where the keys edit the text.
(function () {
  "use strict";

  function inField(element) {
    return Boolean(element && element.closest && element.closest("input, textarea, select, [contenteditable]"));
  }

  function press(id) {
    const button = document.getElementById(id);
    if (button && !button.disabled) button.click();
  }

  function deleteSelected() {
    const selected = document.getElementById("selected-step");
    const card = selected && selected.value ? document.getElementById("card-" + selected.value) : null;
    const form = card ? card.querySelector(":scope > .step-row form[data-delete]") : null;
    if (!form) return false;
    htmx.ajax("POST", form.getAttribute("action"), {
      source: document.querySelector(".editor"), // never swapped: see post() in editor.js
      values: { selected: selected.value },
      swap: "none",
    });
    return true;
  }

  function help() {
    return document.getElementById("shortcuts");
  }

  function openHelp() {
    const list = help();
    if (!list) return;
    list.open = true;
    list.querySelector("summary").focus();
  }

  function closeHelp() {
    const list = help();
    if (!list || !list.open) return false;
    list.open = false;
    list.querySelector("summary").focus();
    return true;
  }

  function shortcut(event) {
    const command = event.ctrlKey || event.metaKey;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (event.altKey) return false;
    if (command && key === "z") press(event.shiftKey ? "redo-button" : "undo-button");
    else if (command && key === "y" && !event.metaKey) press("redo-button");
    else if (command) return false;
    else if (key === "Delete" || key === "Backspace") return deleteSelected();
    else if (key === "?") openHelp();
    else if (key === "Escape") return closeHelp();
    else return false;
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing || inField(event.target)) return;
    if (shortcut(event)) event.preventDefault();
  });
})();
