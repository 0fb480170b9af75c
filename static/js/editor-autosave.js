// Save as you type. The inspector's form saves on change and on submit (htmx); here it also
// saves a moment after typing pauses, naming the field typed into (the server joins more
// typing into one field into one Undo), and at once by a beacon when the page is left
// before the server has confirmed what was typed (a reload, a closed tab).
// The answer to a save never re-renders a field (see the "saved" partial): the caret and
// focus stay where they are. A field's "Required." goes as soon as it has a value.
// The test data and a step's new id are not saved as you type: leaving with one of them
// typed but not saved asks first.
(function () {
  "use strict";

  const PAUSE_MS = 600;
  let timer = null;
  let typed = 0; // keystrokes typed into the inspector so far
  let sent = 0; // of those, how many the save in flight carries
  let unsaved = null; // { form, field } while the server has not confirmed the latest typing

  function inspectorForm(element) {
    return element && element.closest ? element.closest("#inspector-form") : null;
  }

  function saveTyping() {
    timer = null;
    if (unsaved && unsaved.form.isConnected) htmx.trigger(unsaved.form, "sluice:autosave", { field: unsaved.field });
  }

  function dropRequiredError(field) {
    if (!field.value || !field.value.trim()) return;
    for (let box = field.closest(".field"); box; box = box.parentElement.closest(".field")) {
      const errors = box.querySelector(":scope > .field-errors");
      if (!errors) continue;
      if (errors.hasAttribute("data-while-empty")) errors.replaceChildren();
      return;
    }
  }

  document.addEventListener("input", function (event) {
    const form = inspectorForm(event.target);
    if (!form) return;
    typed += 1;
    unsaved = { form: form, field: event.target.name || "" };
    dropRequiredError(event.target);
    clearTimeout(timer);
    timer = setTimeout(saveTyping, PAUSE_MS);
  });

  document.body.addEventListener("htmx:configRequest", function (event) {
    if (!unsaved || event.detail.elt !== unsaved.form) return;
    // This save carries everything typed so far: no need for the one still waiting.
    clearTimeout(timer);
    timer = null;
    sent = typed;
    const trigger = event.detail.triggeringEvent;
    if (trigger && trigger.type === "sluice:autosave") event.detail.parameters.typing = trigger.detail.field;
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (unsaved && event.detail.elt === unsaved.form && event.detail.successful && sent === typed) unsaved = null;
  });

  // The test data and a new step id are saved by their buttons only (their answers
  // re-render the field, with what was saved): leaving with one changed asks first.
  function typedButNotSaved() {
    return Array.prototype.some.call(document.querySelectorAll("form[data-warn-unsaved] textarea, form[data-warn-unsaved] input[type=text]"), function (field) {
      return field.value !== field.defaultValue;
    });
  }

  window.addEventListener("beforeunload", function (event) {
    if (!typedButNotSaved()) return;
    event.preventDefault();
    event.returnValue = "";
  });

  window.addEventListener("pagehide", function () {
    if (!unsaved || !unsaved.form.isConnected) return;
    const data = new FormData(unsaved.form);
    data.append("typing", unsaved.field);
    navigator.sendBeacon(unsaved.form.getAttribute("action"), data);
    unsaved = null;
  });
})();
