// The If/then condition builder: add and remove comparisons and groups in the browser.
//
// Fields are named by their place in the tree (p-if-operator, p-if-0-left, p-if-1-0-operator,
// see flows_app/views/condition_form.py). A new member takes the next free index of its group
// and nothing is renumbered: the server reads the indexes in order. Without this script the
// same buttons submit the form with p-if-edit, and the server makes the change.
// A comparison's right-hand value hides for one-value operators in CSS (condition.css).
(function () {
  "use strict";

  const PLACEHOLDER = /__path__/g;

  // The buttons work here, so they must not submit the form or travel with it.
  function enhance(root) {
    root.querySelectorAll("[data-cond-add], [data-cond-remove]").forEach(function (button) {
      button.type = "button";
      button.removeAttribute("name");
    });
  }

  function members(group) {
    return group.querySelector(":scope > .cond-members");
  }

  function nextPath(group) {
    let next = 0;
    members(group).querySelectorAll(":scope > [data-path]").forEach(function (member) {
      const indexes = member.dataset.path.split("-");
      next = Math.max(next, Number(indexes[indexes.length - 1]) + 1);
    });
    return group.dataset.path ? group.dataset.path + "-" + next : String(next);
  }

  function depthOf(path) {
    return path.split("-").length;
  }

  function changed(builder) {
    const form = builder.closest("form");
    if (form) form.dispatchEvent(new Event("change", { bubbles: true }));
    htmx.trigger(document.body, "sluice:refresh-preview");
  }

  function add(button) {
    const builder = button.closest("[data-condition-builder]");
    const group = button.closest(".cond-group");
    const kind = button.dataset.condAdd;
    const template = builder.querySelector(kind === "group" ? "template.cond-new-group" : "template.cond-new-leaf");
    const path = nextPath(group);
    const holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replace(PLACEHOLDER, path);
    const added = holder.firstElementChild;
    enhance(added);
    if (depthOf(path) + 1 >= Number(builder.dataset.depthLimit)) {
      added.querySelectorAll("[data-cond-add='group']").forEach(function (nest) { nest.remove(); });
    }
    members(group).appendChild(added);
    added.querySelector("input[type=text], select").focus();
    changed(builder);
  }

  function remove(button) {
    const builder = button.closest("[data-condition-builder]");
    const member = button.closest("[data-path]");
    const group = member.parentElement.closest(".cond-group");
    const next = member.nextElementSibling;
    const previous = member.previousElementSibling;
    const after = next && next.matches("[data-path]") ? next : previous && previous.matches("[data-path]") ? previous : null;
    member.remove();
    const focus = after ? after.querySelector("input[type=text], select") : group.querySelector(":scope > .cond-tools [data-cond-add]");
    if (focus) focus.focus();
    changed(builder);
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-condition-builder] [data-cond-add], [data-condition-builder] [data-cond-remove]");
    if (!button) return;
    event.preventDefault();
    enhance(button.closest("[data-condition-builder]"));  // in case it came in unseen
    if (button.matches("[data-cond-add]")) add(button);
    else remove(button);
  });

  htmx.onLoad(function (element) {
    enhance(element.nodeType === 1 ? element : document);
  });
})();
