// The public upload ("drop") page: the presigned POST form travels in the
// URL fragment, which the browser never sends to a server. The page builds a
// plain HTML form that posts the file straight to Postern.
"use strict";
(function () {
  const main = document.getElementById("main");
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v == null) continue;
      if (k === "text") e.textContent = v; else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }
  function size(n) {
    const u = ["bytes", "KiB", "MiB", "GiB"]; let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + u[i];
  }
  main.textContent = "";
  const q = new URLSearchParams(location.search);
  if (q.get("done")) {
    main.append(el("h1", { text: "Upload complete" }),
      el("p", { text: "Your file was saved as " + (q.get("key") || "") + "." }));
    main.focus();
    return;
  }
  let d;
  try {
    const b64 = location.hash.slice(1).replace(/-/g, "+").replace(/_/g, "/");
    d = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), c => c.charCodeAt(0))));
    if (typeof d.u !== "string" || !/^https?:\/\//.test(d.u) || typeof d.f !== "object") throw new Error("bad link");
  } catch (e) {
    main.append(el("h1", { text: "This upload link is not valid" }), el("p", { text: "Ask for a new link." }));
    return;
  }
  const expires = new Date(d.e);
  main.append(el("h1", { text: "Upload a file" }),
    el("p", { text: "Files up to " + size(d.m) + " are accepted until " + expires.toLocaleString() + "." }));
  if (expires < new Date()) {
    main.append(el("p", { class: "error", role: "alert", text: "This link has expired." }));
    return;
  }
  const form = el("form", { method: "post", action: d.u, enctype: "multipart/form-data" });
  for (const [k, v] of Object.entries(d.f)) form.append(el("input", { type: "hidden", name: k, value: String(v) }));
  const ct = el("input", { type: "hidden", name: "Content-Type", value: "application/octet-stream" });
  const file = el("input", { type: "file", id: "file", name: "file", required: true });
  const err = el("p", { id: "drop-error", class: "error", role: "alert" });
  form.append(ct, el("label", { for: "file", text: "File" }), file, err, el("button", { type: "submit", text: "Upload" }));
  file.addEventListener("change", () => {
    const f = file.files[0];
    err.textContent = "";
    if (f) ct.value = f.type || "application/octet-stream";
    if (f && f.size > d.m) err.textContent = "This file is " + size(f.size) + "; the limit is " + size(d.m) + ".";
  });
  form.addEventListener("submit", ev => {
    const f = file.files[0];
    if (!f || f.size > d.m) { ev.preventDefault(); file.focus(); }
  });
  main.append(form);
})();
