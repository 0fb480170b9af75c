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
  let edits = 0; // changes made in the inspector so far (typing, choosing, builder buttons)
  let sent = 0; // of those, how many the latest save carries
  let unsaved = null; // { form, field } while the server has not confirmed the latest typing

  function inspectorForm(element) {
    return element && element.closest ? element.closest("#inspector-form") : null;
  }

  function isSave(event) {
    return event.detail.elt && event.detail.elt.id === "inspector-form";
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

  // Counted on the way down, before htmx's own listener on the form starts a save. That
  // save (sent now, or queued behind one on its way) carries every change so far, so the
  // save a pause in typing would start is not needed: a checkbox's "input" started one.
  document.addEventListener("change", function (event) {
    if (!inspectorForm(event.target)) return;
    edits += 1;
    clearTimeout(timer);
    timer = null;
  }, true);

  document.addEventListener("input", function (event) {
    const form = inspectorForm(event.target);
    if (!form) return;
    edits += 1;
    unsaved = { form: form, field: event.target.name || "" };
    dropRequiredError(event.target);
    clearTimeout(timer);
    timer = setTimeout(saveTyping, PAUSE_MS);
  }, true);

  document.body.addEventListener("htmx:configRequest", function (event) {
    if (!isSave(event)) return;
    // This save carries every change made so far: no need for the one still waiting.
    clearTimeout(timer);
    timer = null;
    sent = edits;
    const trigger = event.detail.triggeringEvent;
    if (trigger && trigger.type === "sluice:autosave") event.detail.parameters.typing = trigger.detail.field;
  });

  // An answer to a save says "Saved."; while a later change still waits for its own save,
  // it is not the whole truth yet.
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (!isSave(event) || !event.detail.successful) return;
    if (sent === edits) {
      unsaved = null;
      return;
    }
    const status = document.getElementById("save-status");
    if (status) status.textContent = "Saving…";
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
