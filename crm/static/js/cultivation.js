// A candidate's step form shows the fields the chosen step asks for (data-for: the steps a
// fieldset is for, separated by spaces). Without script every fieldset shows.
const stepForm = document.querySelector("[data-testid='step-form']");
if (stepForm) {
  const kind = stepForm.querySelector("select[name='kind']");
  const sync = () => {
    stepForm.querySelectorAll("[data-for]").forEach((fieldset) => {
      fieldset.hidden = !fieldset.dataset.for.split(" ").includes(kind.value);
    });
  };
  kind.addEventListener("change", sync);
  sync();
}
