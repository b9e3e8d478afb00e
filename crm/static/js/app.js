// Small behaviours, no inline scripts: a form with data-confirm asks before it submits.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// A batch matching run's card polls its status until the run ends, then shows the result.
const runCard = document.querySelector("[data-run-url]");
if (runCard) {
  const field = (name) => runCard.querySelector(`[data-field="${name}"]`);
  const poll = async () => {
    try {
      const response = await fetch(runCard.dataset.runUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) {
        const run = await response.json();
        field("done").textContent = run.done;
        field("total").textContent = run.total;
        field("label").textContent = run.label;
        const bar = field("bar");
        bar.style.width = `${run.percent}%`;
        bar.textContent = `${run.percent}%`;
        bar.parentElement.setAttribute("aria-valuenow", run.percent);
        if (run.status !== "running") {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // a network hiccup: the next poll tries again
    }
    window.setTimeout(poll, 1500);
  };
  window.setTimeout(poll, 1500);
}
