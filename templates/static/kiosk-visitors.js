// conferenceli kiosk: the visitor announcements. Listens to the `announce` events
// ({"kind": "raffleWinner"|"visitorPress", "firstName", "code"?}) of kiosk.js's one stream
// (window.kiosk.listen) and shows each one as a
// large card over the harbour for a few seconds, one after the other. First name and raffle
// code only: the kiosk is a public screen. Text is set with textContent, never as HTML. The card
// comes and goes on the page's frame grid (window.kiosk.onTick), without a transition: a change
// of the page between the grid's ticks costs the kiosk a redraw of its waves and ships.
"use strict";
(function () {
  const css = [
    "#announce{position:fixed;left:50%;top:18%;transform:translate(-50%,-20px);z-index:50;min-width:520px;max-width:90vw;",
    "padding:28px 40px;border-radius:24px;background:#10202f;color:#fff;text-align:center;font:700 28px/1.3 system-ui,sans-serif;",
    "box-shadow:0 18px 60px rgba(0,0,0,.45);border:6px solid #ffd166;opacity:0;pointer-events:none}",
    "#announce.show{opacity:1;transform:translate(-50%,0)}",
    "#announce.press{border-color:#ff3b3b}",
    "#announce .big{display:block;font-size:56px;line-height:1.1;margin:8px 0}",
    "#announce .code{display:block;font:800 44px/1.2 ui-monospace,monospace;letter-spacing:.08em;color:#ffd166}"
  ].join("");
  const style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);
  const card = document.createElement("div");
  card.id = "announce";
  card.setAttribute("role", "status");
  card.setAttribute("aria-live", "assertive");
  document.body.appendChild(card);

  const queue = [];
  let showing = false;
  const SHOW_MS = 8000;

  function line(cls, text) {
    const span = document.createElement("span");
    if (cls) span.className = cls;
    span.textContent = text;
    return span;
  }

  function render(a) {
    card.replaceChildren();
    card.className = a.kind === "visitorPress" ? "press" : "winner";
    const name = String(a.firstName || "Someone").slice(0, 40);
    if (a.kind === "raffleWinner") {
      card.append(line("", "And the winner is"), line("big", name + "!"));
      if (a.code) card.append(line("code", String(a.code).slice(0, 20)));
    } else {
      card.append(line("big", name + " pressed the button!"), line("", "from their phone"));
    }
  }

  function next() {
    const a = queue.shift();
    if (!a) { showing = false; return; }
    showing = true;
    window.kiosk.onTick(function () {
      render(a);
      card.setAttribute("data-kind", a.kind);
      card.classList.add("show");
    });
    setTimeout(function () {
      window.kiosk.onTick(function () { card.classList.remove("show"); });
      setTimeout(next, 500);
    }, a.kind === "raffleWinner" ? SHOW_MS * 2 : SHOW_MS);
  }

  // On kiosk.js's stream: one per page.
  window.kiosk.listen("announce", function (a) {
    if (a.kind !== "raffleWinner" && a.kind !== "visitorPress") return;
    queue.push(a);
    if (!showing) next();
  });
})();
