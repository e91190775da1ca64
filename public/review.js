// The review page's keys (server-rendered, no WASM): a accepts the label in focus, f opens
// its fix form, r its reject form, j / k move to the next / previous due label, Escape
// leaves a field. Without this script the buttons' access keys and the forms still work.
(() => {
  const cards = () => [...document.querySelectorAll("article.card[data-pending]")];
  let current = 0;
  const focus = (i) => {
    const all = cards();
    if (!all.length) return;
    current = Math.max(0, Math.min(i, all.length - 1));
    all[current].scrollIntoView({ block: "nearest" });
    all[current].querySelector("form.accept button")?.focus();
  };
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target.matches("input, textarea, select")) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    const card = cards()[current];
    if (!card) return;
    const open = (which, field) => {
      const details = card.querySelector(which);
      details.open = true;
      details.querySelector(field)?.focus();
    };
    switch (e.key) {
      case "a": card.querySelector("form.accept").requestSubmit(); break;
      case "f": open("details.fix", "input[name=ranking]"); break;
      case "r": open("details.reject", "textarea[name=reason]"); break;
      case "j": focus(current + 1); break;
      case "k": focus(current - 1); break;
      default: return;
    }
    e.preventDefault();
  });
  // Start on the first due label (the button's autofocus does this too, where it applies).
  if (document.activeElement === document.body) focus(0);
})();
