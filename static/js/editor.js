// The flow editor's small behaviours; htmx does the requests, the server renders the HTML.
//
// - SortableJS: drag an action from the palette into a list of steps (the flow's, or the
//   Then/Else of an If/then; a copy stays in the palette), or drag a step within, into, out
//   of or between branches; either posts the list (parent, branch) and position to the
//   server, which answers with the canvas. Dragging starts only after a few pixels, so a
//   click is still a click. Escape calls a drag off; let go outside the canvas, it does
//   nothing. (Keyboard shortcuts are in editor-keys.js, saving as you type in
//   editor-autosave.js.)
// - Branches fold (<details>); whether each is open is kept in localStorage per flow and
//   step, and put back whenever htmx swaps the canvas in.
// - After a swap, focus goes to the element the server names in data-focus-id.
// - The variable picker inserts {{ path }} at the cursor of its input.
// - Key-value rows are added and removed here; the sender checkbox reveals its fields.
(function () {
  "use strict";

  const FOLDED = "sluice:folded:";

  // Take in swapped-in HTML at once. After htmx's default 20 ms settle delay (longer on a
  // busy machine) a form just swapped in is not yet htmx's: a key pressed in between
  // submitted it as a plain form, the page reloaded, and focus was lost.
  htmx.config.defaultSettleDelay = 0;
  // Never copy a style attribute across a swap (SortableJS leaves them on the cards it
  // animates): the site's Content Security Policy forbids inline styles.
  htmx.config.attributesToSettle = ["class", "width", "height"];

  // Posted from the editor itself, which is never swapped, with the values taken now: a
  // request that has to wait its turn would be dropped by htmx if the element it came from
  // (a list on the canvas) had been replaced by then.
  function post(url, values) {
    const selected = document.getElementById("selected-step");
    values.selected = selected ? selected.value : "";
    return htmx.ajax("POST", url, { source: document.querySelector(".editor"), values: values, swap: "none" });
  }

  function stepIndex(list, item) {
    return Array.prototype.indexOf.call(list.querySelectorAll(":scope > .step-card, :scope > .palette-item"), item);
  }

  function within(root, selector) {
    const found = Array.prototype.slice.call(root.querySelectorAll(selector));
    return root.matches && root.matches(selector) ? [root].concat(found) : found;
  }

  // The drag under way: where its element came from, and whether Escape called it off.
  const drag = { origin: null, cancelled: false };

  function dragStarted(event) {
    drag.origin = { parent: event.item.parentNode, next: event.item.nextSibling };
    drag.cancelled = false;
  }

  function dragEnded() {
    drag.origin = null;
  }

  function pointOf(event) {
    const touch = event && event.changedTouches ? event.changedTouches[0] : event;
    return touch && typeof touch.clientX === "number" ? touch : null;
  }

  function overCanvas(event) {
    const point = pointOf(event);
    const canvas = document.getElementById("canvas");
    if (!point || !canvas) return false;
    const box = canvas.getBoundingClientRect();
    return point.clientX >= box.left && point.clientX <= box.right && point.clientY >= box.top && point.clientY <= box.bottom;
  }

  // SortableJS moves the element into a list as soon as it passes over one; a drag that
  // was called off, or let go outside the canvas, goes back where it came from.
  function putBack(event) {
    if (event.pullMode === "clone" && event.clone && event.clone.parentNode) {
      event.clone.replaceWith(event.item);
    } else if (drag.origin) {
      drag.origin.parent.insertBefore(event.item, drag.origin.next);
    }
  }

  function dropped(list, event) {
    if (drag.cancelled || !overCanvas(event.originalEvent)) {
      putBack(event);
      return;
    }
    const urls = document.getElementById("steps").dataset;
    const values = {
      parent: list.dataset.parent || "",
      branch: list.dataset.branch || "",
      position: String(stepIndex(list, event.item)),
    };
    if (event.item.dataset.stepId) {
      values.step = event.item.dataset.stepId;
      post(urls.moveUrl, values);
    } else {
      if (event.clone) htmx.process(event.clone);
      values.action = event.item.dataset.action;
      post(urls.addUrl, values);
    }
  }

  // Escape ends the drag as a cancelled pointer would, and nothing is dropped. The button
  // the drag began on is back in its place: letting go over it must not press it.
  function cancelDrag() {
    drag.cancelled = true;
    ["pointercancel", "touchcancel"].forEach(function (type) {
      document.dispatchEvent(new Event(type, { bubbles: true }));
    });
    swallowNextPointerClick();
  }

  function swallowNextPointerClick() {
    function swallow(event) {
      if (event.detail === 0) return; // a key pressed the button, not the pointer
      event.preventDefault();
      event.stopPropagation();
      done();
    }
    function done() {
      document.removeEventListener("click", swallow, true);
      document.removeEventListener("pointerdown", done, true);
    }
    document.addEventListener("click", swallow, true);
    document.addEventListener("pointerdown", done, true);
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && drag.origin) {
      event.preventDefault();
      cancelDrag();
    }
  });

  const DRAGGING = {
    forceFallback: true,
    fallbackOnBody: true,
    fallbackTolerance: 4,
    animation: 120,
    onStart: dragStarted,
    onEnd: dragEnded,
  };

  function initSortables(root) {
    if (typeof Sortable === "undefined") return;
    within(root, "[data-palette]").forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      Sortable.create(list, Object.assign({ group: { name: "steps", pull: "clone", put: false }, sort: false }, DRAGGING));
    });
    // Every list of steps, nested ones too, shares the group: steps go anywhere.
    within(root, "[data-sortable]").forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      Sortable.create(list, Object.assign({
        group: { name: "steps", pull: true, put: true },
        draggable: ">.step-card, .palette-item",
        swapThreshold: 0.65,
        emptyInsertThreshold: 12,
        onAdd: function (event) {
          dropped(list, event);
        },
        onUpdate: function (event) {
          dropped(list, event);
        },
      }, DRAGGING));
    });
  }

  function restoreFolds(root) {
    within(root, "details[data-collapse-key]").forEach(function (branch) {
      try {
        if (localStorage.getItem(FOLDED + branch.dataset.collapseKey)) branch.open = false;
      } catch (error) {
        // Storage may be off (private mode): branches then open on every render.
      }
      branch.dataset.foldRestored = "1";
    });
  }

  function rememberFold(branch) {
    try {
      const key = FOLDED + branch.dataset.collapseKey;
      if (branch.open) localStorage.removeItem(key);
      else localStorage.setItem(key, "1");
    } catch (error) {
      // As above: nothing to remember with.
    }
  }

  // "toggle" does not bubble; capture it on the way down.
  document.addEventListener(
    "toggle",
    function (event) {
      // A branch fresh from the server toggles open once before its fold is put back.
      const branch = event.target;
      if (branch.matches && branch.matches("details[data-fold-restored]")) rememberFold(branch);
    },
    true
  );

  function unfoldAround(element) {
    for (let branch = element.closest("details:not([open])"); branch; branch = branch.closest("details:not([open])")) {
      branch.open = true;
    }
  }

  function focusNamed(root) {
    const holder = root.matches && root.matches("[data-focus-id]") ? root : root.querySelector("[data-focus-id]");
    if (!holder) return;
    const target = document.getElementById(holder.dataset.focusId);
    holder.removeAttribute("data-focus-id");
    if (target && !target.disabled) {
      unfoldAround(target);
      if (target.tabIndex < 0 && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
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

  // Deleting a step asks first, in words every save keeps current (see the tool-label
  // partial). It asks when the button is pressed; a request that then waits its turn comes
  // back through here when its turn comes (htmx forgets it was confirmed), and goes on.
  const confirmed = new WeakSet();

  document.body.addEventListener("htmx:confirm", function (event) {
    const form = event.detail.elt;
    const asking = form.matches && form.matches("form[data-delete]") ? form.querySelector("[data-confirm]") : null;
    const pressed = event.detail.triggeringEvent;
    if (!asking || (pressed && confirmed.has(pressed))) return;
    event.preventDefault();
    if (!window.confirm(asking.dataset.confirm)) return;
    if (pressed) confirmed.add(pressed);
    event.detail.issueRequest(true);
  });

  // Preview again once the test data changes: the previews read it.
  document.body.addEventListener("sluice:test-data-saved", function () {
    htmx.trigger(document.body, "sluice:refresh-preview");
  });

  htmx.onLoad(function (element) {
    restoreFolds(element.nodeType === 1 ? element : document.body);
    initSortables(element.nodeType === 1 ? element : document.body);
    focusNamed(element.nodeType === 1 ? element : document.body);
  });
})();
