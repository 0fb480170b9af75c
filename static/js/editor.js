// The flow editor's small behaviours; htmx does the requests, the server renders the HTML.
//
// - SortableJS: drag an action from the palette into the steps list (a copy stays in the
//   palette), or drag a step to reorder; either posts to the server, which answers with the
//   canvas. Dragging starts only after a few pixels, so a click is still a click.
// - After a swap, focus goes to the element the server names in data-focus-id.
// - The variable picker inserts {{ path }} at the cursor of its input.
// - Key-value rows are added and removed here; the sender checkbox reveals its fields.
(function () {
  "use strict";

  function post(url, values, source) {
    const selected = document.getElementById("selected-step");
    values.selected = selected ? selected.value : "";
    return htmx.ajax("POST", url, { source: source, values: values, swap: "none" });
  }

  function stepIndex(list, item) {
    return Array.prototype.indexOf.call(list.querySelectorAll(":scope > .step-card, :scope > .palette-item"), item);
  }

  function initSortables(root) {
    if (typeof Sortable === "undefined") return;
    root.querySelectorAll("[data-palette]").forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      Sortable.create(list, {
        group: { name: "steps", pull: "clone", put: false },
        sort: false,
        forceFallback: true,
        fallbackTolerance: 4,
        animation: 120,
      });
    });
    root.querySelectorAll("[data-sortable]").forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      Sortable.create(list, {
        group: { name: "steps", pull: false, put: true },
        draggable: ".step-card, .palette-item",
        filter: ".drop-hint",
        forceFallback: true,
        fallbackTolerance: 4,
        animation: 120,
        onAdd: function (event) {
          if (event.clone) htmx.process(event.clone);
          const position = stepIndex(list, event.item);
          const action = event.item.dataset.action;
          post(list.dataset.addUrl, { action: action, position: String(position) }, list);
        },
        onUpdate: function (event) {
          const position = stepIndex(list, event.item);
          post(list.dataset.moveUrl, { step: event.item.dataset.stepId, position: String(position) }, list);
        },
      });
    });
  }

  function focusNamed(root) {
    const holder = root.matches && root.matches("[data-focus-id]") ? root : root.querySelector("[data-focus-id]");
    if (!holder) return;
    const target = document.getElementById(holder.dataset.focusId);
    holder.removeAttribute("data-focus-id");
    if (target && !target.disabled) {
      target.focus();
    } else {
      const heading = document.getElementById("canvas-heading");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
    }
  }

  function insertVariable(button) {
    const group = button.closest("[data-insert-group]");
    if (!group) return;
    let field = group.querySelector("[data-template][data-last-focus]") || group.querySelector("[data-template]");
    if (!field) return;
    const text = "{{ " + button.dataset.insert + " }}";
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? start;
    field.setRangeText(text, start, end, "end");
    field.focus();
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.dispatchEvent(new Event("change", { bubbles: true }));
    const details = button.closest("details");
    if (details) details.open = false;
  }

  function addRow(button) {
    const group = button.closest(".kv-field");
    const template = group.querySelector("template.kv-template");
    const rows = group.querySelector(".kv-rows");
    rows.appendChild(template.content.cloneNode(true));
    const inputs = rows.querySelectorAll(".kv-row:last-child input");
    if (inputs.length) inputs[0].focus();
  }

  function removeRow(button) {
    const row = button.closest(".kv-row");
    const group = button.closest(".kv-field");
    const form = button.closest("form");
    row.remove();
    const add = group.querySelector(".kv-add");
    if (add) add.focus();
    if (form) form.dispatchEvent(new Event("change", { bubbles: true }));
    htmx.trigger(document.body, "sluice:refresh-preview");
  }

  document.addEventListener("click", function (event) {
    const target = event.target.closest("[data-insert], .kv-add, .kv-remove");
    if (!target) return;
    if (target.matches("[data-insert]")) insertVariable(target);
    else if (target.matches(".kv-add")) addRow(target);
    else removeRow(target);
  });

  document.addEventListener("focusin", function (event) {
    const field = event.target;
    if (!field.matches || !field.matches("[data-template]")) return;
    const group = field.closest("[data-insert-group]");
    if (!group) return;
    group.querySelectorAll("[data-last-focus]").forEach(function (other) {
      other.removeAttribute("data-last-focus");
    });
    field.setAttribute("data-last-focus", "");
  });

  document.addEventListener("change", function (event) {
    const box = event.target;
    if (!box.matches || !box.matches("[data-reveals]")) return;
    const fields = document.getElementById(box.dataset.reveals);
    if (fields) fields.hidden = !box.checked;
  });

  // Preview again once the test data changes: the previews read it.
  document.body.addEventListener("sluice:test-data-saved", function () {
    htmx.trigger(document.body, "sluice:refresh-preview");
  });

  htmx.onLoad(function (element) {
    initSortables(element.nodeType === 1 ? element : document);
    focusNamed(element.nodeType === 1 ? element : document.body);
  });
})();
