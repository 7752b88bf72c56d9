// midistyle studio: the page talks to the same JSON API that scripts use (no libraries, nothing external).
"use strict";

const $ = (sel) => document.querySelector(sel);
const message = $("#message");

function say(text, isError) {
  message.textContent = text;
  message.className = isError ? "error" : "";
}

// ---------------------------------------------------------------- tabs
document.querySelectorAll('[role="tab"]').forEach((tab) => {
  tab.addEventListener("click", () => {
    document.querySelectorAll('[role="tab"]').forEach((t) => t.setAttribute("aria-selected", String(t === tab)));
    document.querySelectorAll(".panel").forEach((p) => { p.hidden = p.id !== tab.dataset.panel; });
    say("", false);
  });
});

// ---------------------------------------------------------------- models -> style menus
async function loadModels() {
  try {
    const r = await fetch("/api/models");
    const d = await r.json();
    const usable = d.models.filter((m) => !m.shadowed_by);
    document.querySelectorAll("select[data-kind]").forEach((sel) => {
      sel.innerHTML = "";
      usable.filter((m) => m.kind === sel.dataset.kind).forEach((m) => {
        const o = document.createElement("option");
        o.value = m.name;
        o.textContent = m.name + (m.origin === "shipped" ? "" : " (" + m.origin + ")");
        o.title = m.summary;
        sel.appendChild(o);
      });
    });
    $("#model-count").textContent = usable.length + " found";
  } catch (e) {
    say("could not list the models: " + e, true);
  }
}

// ---------------------------------------------------------------- drop zones
document.querySelectorAll(".drop").forEach((zone) => {
  const input = zone.querySelector("input[type=file]");
  const text = zone.querySelector(".drop-text");
  input.addEventListener("change", () => { if (input.files.length) text.textContent = input.files[0].name; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      text.textContent = input.files[0].name;
    }
  });
});

const strength = document.querySelector('input[name="strength"]');
strength.addEventListener("input", () => {
  strength.parentElement.querySelector("output").textContent = Number(strength.value).toFixed(2);
});

// ---------------------------------------------------------------- results
function describe(f) {
  if (f.tempo !== undefined) {
    const tempo = f.tempo === "drawn"
      ? "tempo drawn over " + f.beats + " beats (rubato " + f.rubato_std + ")" : "tempo kept: " + f.tempo;
    return f.notes + " notes" + (f.score ? " (read as a score)" : "") + "; velocity mean " + f.mean_velocity_before +
      " \u2192 " + f.mean_velocity_after + ", spread " + f.std_velocity_before + " \u2192 " + f.std_velocity_after +
      "; " + tempo + " (seed " + f.seed + ")";
  }
  if (f.mean_velocity_before !== undefined) {
    return f.notes + " notes; velocity mean " + f.mean_velocity_before + " \u2192 " + f.mean_velocity_after +
      ", spread " + f.std_velocity_before + " \u2192 " + f.std_velocity_after + " (seed " + f.seed +
      ", strength " + f.strength + ")";
  }
  return f.seconds + " s of " + f.style + (f.key ? " in " + f.key : "") + ": " + f.notes + " notes (" + f.notes_per_s + "/s), polyphony " +
    f.polyphony + ", pedal " + Math.round(100 * f.pedal_share) + " % (seed " + f.seed + ")" +
    (f.warning ? " \u2014 " + f.warning : "");
}

async function followRenders(d) {
  const bar = $("#render-progress");
  const text = $("#render-text");
  if (!d.wav) { bar.hidden = true; text.textContent = "no audio (the draw was silent)"; return; }
  bar.hidden = false;
  let resultDone = false;
  for (;;) {
    const r = await fetch(d.status);
    const s = await r.json();
    if (!r.ok) { say(s.error, true); return; }
    const parts = Object.values(s.audio);
    const share = parts.reduce((a, p) => a + p.progress, 0) / Math.max(parts.length, 1);
    bar.value = share;
    text.textContent = s.done ? "" : "rendering audio\u2026 " + Math.round(100 * share) + " %";
    for (const [key, p] of Object.entries(s.audio)) {
      const el = $("#audio-" + key);
      if (p.state === "done" && !el.getAttribute("src")) el.src = d.wav[key];
      if (p.state === "done" && key === "result") resultDone = true;
      if (p.state === "failed") say(key + " audio: " + p.error, true);
    }
    if (s.done) break;
    await new Promise((ok) => setTimeout(ok, 300));
  }
  bar.hidden = true;
  if (resultDone) {
    const wav = $("#download-wav");
    wav.href = d.wav.result;
    wav.download = d.downloadName.replace(/\.mid$/, ".wav");
    wav.hidden = false;
  }
}

document.querySelectorAll(".panel").forEach((form) => {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const fileInput = form.querySelector("input[type=file]");
    if (!fileInput.files.length) { say("pick or drop a file first", true); return; }
    const button = form.querySelector(".go");
    button.disabled = true;
    say("working\u2026", false);
    $("#result").hidden = true;
    ["#audio-original", "#audio-result"].forEach((s) => { $(s).removeAttribute("src"); $(s).load(); });
    $("#download-wav").hidden = true;
    try {
      const body = new FormData(form);
      form.querySelectorAll("input[type=checkbox]").forEach((cb) => body.set(cb.name, cb.checked ? "1" : "0"));
      const r = await fetch(form.dataset.api, { method: "POST", body: body });
      let d;
      try { d = await r.json(); } catch (err) { d = { error: "the studio answered " + r.status }; }
      if (!r.ok) { say(d.error || ("error " + r.status), true); return; }
      const stem = d.name.replace(/\.[^.]*$/, "");
      const tag = form.id === "velocity" ? body.get("to")
        : form.id === "perform" ? "performed-" + body.get("to") : "chords-" + body.get("style");
      d.downloadName = stem + "." + tag + ".mid";
      $("#result-title").textContent = d.name + " \u2192 " + tag;
      $("#figures").textContent = describe(d.figures);
      const midi = $("#download-midi");
      midi.href = d.midi;
      midi.download = d.downloadName;
      const img = $("#figure");
      if (d.png) { img.src = d.png; img.hidden = false; } else { img.hidden = true; }
      $("#result").hidden = false;
      say("done", false);
      await followRenders(d);
    } catch (err) {
      say("the studio did not answer: " + err, true);
    } finally {
      button.disabled = false;
    }
  });
});

loadModels();
