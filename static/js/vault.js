// The connection form: a field that belongs to one choice of another field (one setup of
// an HTTP connection) is shown only while that choice is made. Without this script every
// field shows, and the server ignores the ones of other choices.
(function () {
  "use strict";
  const first = document.querySelector("form [data-shown-for]");
  if (!first) return;
  const form = first.closest("form");

  function update() {
    form.querySelectorAll("[data-shown-for]").forEach(function (wrapper) {
      const chooser = form.elements.namedItem(wrapper.dataset.shownFor);
      const chosen = chooser ? chooser.value : "";
      wrapper.hidden = chosen !== wrapper.dataset.shownValue;
    });
  }

  form.addEventListener("change", update);
  update();
})();
