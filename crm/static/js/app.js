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
        if (field("stage")) field("stage").textContent = run.stage;
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

// The admin matching page's vector card: progress, and a time left from the rate seen
// between polls (the server does not guess it).
const embedCard = document.querySelector("[data-embed-url]");
if (embedCard) {
  const field = (name) => embedCard.querySelector(`[data-field="${name}"]`);
  let last = null;
  const poll = async () => {
    try {
      const response = await fetch(embedCard.dataset.embedUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) {
        const state = await response.json();
        field("done").textContent = state.done;
        field("total").textContent = state.total;
        const bar = field("bar");
        bar.style.width = `${state.percent}%`;
        bar.textContent = `${state.percent}%`;
        bar.parentElement.setAttribute("aria-valuenow", state.percent);
        const now = Date.now();
        let text = state.pending ? `等待计算 ${state.pending} 条` : "全部为最新";
        if (last && state.pending && state.done > last.done) {
          const rate = (state.done - last.done) / ((now - last.at) / 1000);
          const minutes = state.pending / rate / 60;
          text = `每秒 ${rate.toFixed(1)} 条，约还需 ${minutes < 1 ? "不到 1" : Math.ceil(minutes)} 分钟`;
        }
        field("eta").textContent = text;
        last = { done: state.done, at: now };
        if (!state.pending) return;
      }
    } catch (error) {
      // a network hiccup: the next poll tries again
    }
    window.setTimeout(poll, 3000);
  };
  window.setTimeout(poll, 3000);
}

// The pipeline board: drag a card to the next stage's column. A simple move submits the
// card's own form; 签约 and 终止 open the card's page to ask for the date, parties or reason.
// The buttons on each card do the same without dragging (keyboard, phone).
const board = document.querySelector("[data-testid='board']");
if (board) {
  let dragged = null;
  board.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("[data-testid='card']");
    if (dragged) {
      event.dataTransfer.setData("text/plain", dragged.dataset.id);
      event.dataTransfer.effectAllowed = "move";
    }
  });
  const allowed = (column) =>
    dragged && (dragged.dataset.moves || "").split(" ").includes(column.dataset.stage);
  board.addEventListener("dragover", (event) => {
    const column = event.target.closest(".pipeline-column");
    if (column && allowed(column)) {
      event.preventDefault();
      column.classList.add("drop-target");
    }
  });
  board.addEventListener("dragleave", (event) => {
    const column = event.target.closest(".pipeline-column");
    if (column) column.classList.remove("drop-target");
  });
  board.addEventListener("drop", (event) => {
    const column = event.target.closest(".pipeline-column");
    if (!column || !allowed(column)) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    const control = dragged.querySelector(`[data-move="${column.dataset.stage}"]`);
    if (control) control.click();
  });
}

// A cooperation's or a project's move form shows the fields the chosen stage asks for
// (data-when: the stages a fieldset is for, separated by spaces).
const moveForm = document.querySelector("[data-testid='move-form']");
if (moveForm) {
  const to = moveForm.querySelector("select[name='to']");
  const sync = () => {
    moveForm.querySelectorAll("[data-when]").forEach((fieldset) => {
      fieldset.hidden = !fieldset.dataset.when.split(" ").includes(to.value);
    });
  };
  to.addEventListener("change", sync);
  sync();
}

// A button with data-print prints the page (the print styles hide navigation and forms).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});

// Widths and heights that come from data (progress bars, a chart sized by its rows) are set
// here, through the CSSOM: the content security policy allows no inline style attributes.
document.querySelectorAll("[data-width]").forEach((element) => {
  element.style.width = `${element.dataset.width}%`;
});
document.querySelectorAll("[data-height]").forEach((element) => {
  element.style.height = `${element.dataset.height}px`;
});

// A signed-in page that a phone's back button brings back from its back/forward cache (after
// signing out, say) is asked of the server again: it shows it only to whoever is signed in now.
window.addEventListener("pageshow", (event) => {
  if (event.persisted && document.body.hasAttribute("data-signed-in")) {
    window.location.reload();
  }
});

// An import preview's outcome filter: 全部 / 新增 / 更新 / 未变 / 跳过 (without script, all rows show).
document.querySelectorAll("[data-filter-for]").forEach((group) => {
  const table = document.getElementById(group.dataset.filterFor);
  group.addEventListener("click", (event) => {
    const button = event.target.closest("[data-filter]");
    if (!button || !table) return;
    group.querySelectorAll("[data-filter]").forEach((b) => {
      b.classList.toggle("active", b === button);
      b.setAttribute("aria-pressed", String(b === button));
    });
    table.querySelectorAll("tbody tr").forEach((row) => {
      row.hidden = Boolean(button.dataset.filter) && row.dataset.outcome !== button.dataset.filter;
    });
  });
});

// A form sent back with errors opens at its first field in error (or its error summary),
// focused: on a phone the message may be two screens below the top. Fields in a hidden
// part of a form (the move form's other stages) are passed over.
function focusFirstError() {
  const first = Array.from(
    document.querySelectorAll("form .is-invalid, form [data-error-summary]"),
  ).find((element) => element.getClientRects().length > 0);
  if (!first) return;
  if (!first.matches("input, select, textarea, button, a[href]")) {
    first.setAttribute("tabindex", "-1");
  }
  first.scrollIntoView({ block: "center", behavior: "instant" }); // not smooth: open there
  first.focus({ preventScroll: true });
}
focusFirstError();
