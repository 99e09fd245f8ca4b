// Postern web console. Plain JavaScript, no framework: every piece of text
// from the server is put in the page with textContent, never as HTML.
"use strict";
(function () {
  const $ = id => document.getElementById(id);
  // Each route renders into a fresh container, so a slow view that was
  // left (its requests still pending) can never draw into the next one.
  const root = $("main"), dialog = $("dialog"), statusBox = $("status");
  let mainView = root;
  let session = null;

  // ---- helpers ----
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v == null) continue;
      if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids) if (k != null && k !== false) e.append(k);
    return e;
  }
  let uid = 0;
  const nextId = p => p + "-" + (++uid);
  function field(label, input, hint) {
    input.id = input.id || nextId("f");
    const wrap = el("div", { class: "field" }, el("label", { for: input.id, text: label }), input);
    if (hint) {
      const h = el("p", { class: "hint", id: nextId("h"), text: hint });
      input.setAttribute("aria-describedby", h.id);
      wrap.append(h);
    }
    return wrap;
  }
  function fmtSize(n) {
    n = Number(n);
    const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + " " + u[i];
  }
  function fmtTime(s) {
    if (!s) return "";
    const d = new Date(s);
    return isNaN(d) ? s : d.toLocaleString();
  }
  function say(msg) { statusBox.textContent = ""; setTimeout(() => { statusBox.textContent = msg; }, 10); }
  function errorText(e) {
    if (e && e.code) {
      let t = e.code + (e.operation ? " (" + e.operation + ")" : "") + ": " + e.message;
      if (e.resource) t += " [" + e.resource + "]";
      return t;
    }
    return String(e && e.message || e);
  }
  function alertBox(e) { return el("p", { class: "error", role: "alert", text: errorText(e) }); }

  class APIError extends Error {
    constructor(e) { super(e.message); Object.assign(this, e); }
  }
  async function api(op, body) {
    let res;
    try {
      res = await fetch("/console/api/" + op, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
      });
    } catch (e) {
      throw new APIError({ code: "NetworkError", message: "The console server could not be reached." });
    }
    let data = {};
    try { data = await res.json(); } catch (e) { /* empty */ }
    if (!res.ok) {
      const err = new APIError(data.error || { code: "HTTP" + res.status, message: res.statusText });
      if (res.status === 401 && op !== "signin") { session = null; showSignIn(err); }
      throw err;
    }
    return data;
  }
  function iam(action, params) { return api("iam", { action, params: params || {} }).then(r => r.result || {}); }
  const asList = x => Array.isArray(x) ? x : (x && typeof x === "object" ? [x] : []);
  // iamAll follows IAM's Marker while IsTruncated, joining every list in the
  // result: a list call otherwise stops at the first 100 entries.
  async function iamAll(action, params) {
    const out = await iam(action, params);
    let page = out;
    for (let i = 0; page.IsTruncated === "true" && page.Marker && i < 1000; i++) {
      page = await iam(action, Object.assign({}, params, { Marker: page.Marker }));
      for (const [k, v] of Object.entries(page)) if (Array.isArray(v)) out[k] = asList(out[k]).concat(v);
    }
    delete out.IsTruncated; delete out.Marker;
    return out;
  }

  // ---- dialogs: focus moves in, Escape closes, focus returns ----
  let opener = null;
  function openDialog(title, ...content) {
    opener = document.activeElement;
    dialog.textContent = "";
    const close = el("button", { type: "button", class: "close", "aria-label": "Close", text: "×", onclick: () => dialog.close() });
    dialog.append(el("div", { class: "dialog-head" }, el("h2", { id: "dialog-title", text: title }), close), ...content);
    dialog.showModal();
    const first = dialog.querySelector("input:not([type=hidden]):not([disabled]), select, textarea, button:not(.close)");
    (first || close).focus();
  }
  dialog.addEventListener("close", () => { if (opener && opener.isConnected) opener.focus(); });
  function confirmDialog(title, text, action, label) {
    return new Promise(resolve => {
      const err = el("div");
      const yes = el("button", { type: "button", class: "danger", text: label || "Delete" });
      const no = el("button", { type: "button", text: "Cancel", onclick: () => { dialog.close(); resolve(false); } });
      yes.addEventListener("click", async () => {
        yes.disabled = true;
        try { await action(); dialog.close(); resolve(true); } catch (e) { err.textContent = ""; err.append(alertBox(e)); yes.disabled = false; }
      });
      openDialog(title, el("p", { text }), err, el("div", { class: "actions" }, yes, no));
      no.focus();
    });
  }

  // ---- sign in / out ----
  function showSignIn(err) {
    $("nav").hidden = true; $("who").hidden = true;
    if (dialog.open) dialog.close();
    root.textContent = "";
    const ak = el("input", { name: "accessKeyId", autocomplete: "username", required: true, spellcheck: "false", autocapitalize: "off" });
    const sk = el("input", { name: "secretAccessKey", type: "password", autocomplete: "current-password", required: true });
    const tok = el("textarea", { name: "sessionToken", rows: "3", spellcheck: "false" });
    const msg = el("div", { id: "signin-error" });
    if (err) msg.append(alertBox(err));
    const form = el("form", { id: "signin", class: "card narrow", novalidate: true },
      el("h1", { text: "Sign in" }),
      el("p", { text: "Use an access key: the account root's, an IAM user's, or temporary credentials with their session token. The keys stay on the server for this session only." }),
      field("Access key ID", ak), field("Secret access key", sk),
      field("Session token (temporary credentials only)", tok, "Leave empty for long-term access keys."),
      msg, el("button", { type: "submit", class: "primary", text: "Sign in" }));
    form.addEventListener("submit", async ev => {
      ev.preventDefault();
      msg.textContent = "";
      try {
        session = await api("signin", { accessKeyId: ak.value, secretAccessKey: sk.value, sessionToken: tok.value });
        sk.value = ""; tok.value = "";
        signedIn();
        if (!location.hash || location.hash === "#/signin") location.hash = "#/buckets"; else route();
      } catch (e) { msg.append(alertBox(e)); sk.focus(); }
    });
    root.append(form);
    ak.focus();
  }
  function signedIn() {
    $("nav").hidden = false; $("who").hidden = false;
    $("who-arn").textContent = session.arn + (session.temporary ? " (temporary)" : "");
    $("who-arn").title = session.arn;
  }
  $("signout").addEventListener("click", async () => {
    try { await api("signout"); } catch (e) { /* the session is gone either way */ }
    session = null;
    location.hash = "#/signin";
    showSignIn();
    say("Signed out.");
  });

  // ---- routing ----
  function parseRoute() {
    const h = location.hash.replace(/^#\/?/, "");
    const parts = h.split("/");
    return parts.map(p => { try { return decodeURIComponent(p); } catch (e) { return p; } });
  }
  const enc = s => encodeURIComponent(s);
  function objectsHash(bucket, prefix) {
    return "#/b/" + enc(bucket) + "/o/" + prefix.split("/").map(enc).join("/");
  }
  async function route() {
    if (!session) { showSignIn(); return; }
    if (dialog.open) dialog.close();
    const r = parseRoute();
    const main = mainView = el("div", { class: "view" });
    root.textContent = "";
    root.append(main);
    try {
      if (r[0] === "b" && r[1]) {
        const bucket = r[1];
        if (r[2] === "policy") await viewPolicy(bucket);
        else if (r[2] === "cors") await viewCors(bucket);
        else await viewObjects(bucket, r.slice(3).join("/"));
      } else if (r[0] === "shares") {
        await viewShares(r[1] === "all");
      } else if (r[0] === "iam") {
        if (r[1] === "users" && r[2]) await viewUser(r[2]);
        else if (r[1] === "users") await viewUsers();
        else if (r[1] === "groups" && r[2]) await viewGroup(r[2]);
        else if (r[1] === "groups") await viewGroups();
        else if (r[1] === "roles") await viewRoles();
        else if (r[1] === "policies") await viewPolicies();
        else await viewUsers();
      } else {
        await viewBuckets();
      }
    } catch (e) {
      if (session) { main.textContent = ""; main.append(el("h1", { text: "Something went wrong" }), alertBox(e)); }
    }
    for (const a of document.querySelectorAll("#nav a")) {
      if (location.hash.startsWith(a.getAttribute("href"))) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
  }
  function heading(text, ...extra) {
    const h = el("h1", { text, tabindex: "-1" });
    mainView.append(el("div", { class: "page-head" }, h, ...extra));
    return h;
  }

  // ---- buckets ----
  async function viewBuckets() {
    const main = mainView;
    const h = heading("Buckets");
    const name = el("input", { name: "bucket", required: true, pattern: "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", spellcheck: "false", autocapitalize: "off" });
    const cors = el("input", { type: "checkbox", id: "allow-cors", checked: true });
    const msg = el("div");
    const form = el("form", { id: "create-bucket", class: "inline-form" },
      field("New bucket name", name, "3–63 characters: lower-case letters, digits, dots and hyphens."),
      el("div", { class: "check" }, cors, el("label", { for: "allow-cors", text: "Allow uploads from this console (adds a CORS rule when the console runs on its own port)" })),
      el("button", { type: "submit", class: "primary", text: "Create bucket" }), msg);
    form.addEventListener("submit", async ev => {
      ev.preventDefault(); msg.textContent = "";
      try {
        const r = await api("createBucket", { bucket: name.value.trim(), allowConsoleUploads: cors.checked });
        say("Bucket " + r.bucket + " created.");
        if (r.corsError) say("Bucket created, but the CORS rule was refused: " + errorText(r.corsError));
        await route();
      } catch (e) { msg.append(alertBox(e)); name.focus(); }
    });
    main.append(form);
    const list = await api("listBuckets");
    if (!list.buckets.length) { main.append(el("p", { text: "No buckets yet." })); h.focus(); return; }
    const tbody = el("tbody");
    for (const b of list.buckets) {
      tbody.append(el("tr", {},
        el("td", {}, el("a", { href: objectsHash(b.name, ""), text: b.name })),
        el("td", { class: "opt", text: fmtTime(b.created) }),
        el("td", {}, el("div", { class: "row-actions" },
          el("a", { href: "#/b/" + enc(b.name) + "/policy", text: "Policy" }),
          el("a", { href: "#/b/" + enc(b.name) + "/cors", text: "CORS" }),
          el("button", { type: "button", class: "danger", text: "Delete", "aria-label": "Delete bucket " + b.name,
            onclick: () => confirmDialog("Delete bucket", "Delete the bucket " + b.name + "? Only an empty bucket can be deleted.",
              () => api("deleteBucket", { bucket: b.name })).then(ok => { if (ok) { say("Bucket " + b.name + " deleted."); route(); } }) })))));
    }
    main.append(el("div", { class: "table-wrap" }, el("table", { id: "buckets" },
      el("caption", { class: "sr-only", text: "Buckets" }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Name" }), el("th", { scope: "col", class: "opt", text: "Created" }), el("th", { scope: "col", text: "Actions" }))),
      tbody)));
    h.focus();
  }

  // ---- objects ----
  async function viewObjects(bucket, prefix, search) {
    const main = mainView;
    const crumbs = el("nav", { "aria-label": "Folder", class: "crumbs" });
    crumbs.append(el("a", { href: "#/buckets", text: "Buckets" }), " / ", el("a", { href: objectsHash(bucket, ""), text: bucket }));
    let acc = "";
    for (const part of prefix.split("/").filter(Boolean)) {
      acc += part + "/";
      crumbs.append(" / ", el("a", { href: objectsHash(bucket, acc), text: part }));
    }
    main.append(crumbs);
    const h = heading(prefix ? prefix : bucket,
      el("div", { class: "head-links" },
        el("a", { href: "#/b/" + enc(bucket) + "/policy", text: "Policy" }),
        el("a", { href: "#/b/" + enc(bucket) + "/cors", text: "CORS" })));

    // toolbar: upload, new folder, upload link, search
    const files = el("input", { type: "file", id: "upload-input", multiple: true });
    const uploads = el("ul", { id: "uploads", class: "uploads", "aria-label": "Uploads" });
    const corsBox = el("div", { id: "cors-box" });
    files.addEventListener("change", () => { const fs = [...files.files]; files.value = ""; uploadFiles(bucket, prefix, fs, uploads, corsBox); });
    const folderBtn = el("button", { type: "button", text: "New folder", onclick: () => newFolder(bucket, prefix) });
    const linkBtn = el("button", { type: "button", text: "Create upload link", onclick: () => uploadLinkDialog(bucket, prefix) });
    const sq = el("input", { type: "search", id: "search", value: search || "", spellcheck: "false", autocapitalize: "off" });
    const sform = el("form", { class: "search", role: "search" }, field("Search keys starting with", sq),
      el("button", { type: "submit", text: "Search" }));
    sform.addEventListener("submit", ev => {
      ev.preventDefault(); main.textContent = "";
      viewObjects(bucket, prefix, sq.value).catch(e => main.append(alertBox(e)));
    });
    main.append(el("div", { class: "toolbar" },
      el("div", { class: "field upload-field" }, el("label", { for: "upload-input", class: "button-like", text: "Upload files" }), files),
      folderBtn, linkBtn), sform, corsBox, uploads);

    const tbody = el("tbody");
    const table = el("table", { id: "objects" }, el("caption", { class: "sr-only", text: "Objects in " + bucket + "/" + prefix }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Name" }), el("th", { scope: "col", text: "Size" }),
        el("th", { scope: "col", class: "opt", text: "Last modified" }), el("th", { scope: "col", text: "Actions" }))), tbody);
    const more = el("button", { type: "button", id: "load-more", text: "Load more", hidden: true });
    main.append(el("div", { class: "table-wrap" }, table), more);
    const flat = search != null && search !== "";
    const listPrefix = flat ? prefix + search : prefix;
    if (flat) main.insertBefore(el("p", { text: "Keys starting with " + listPrefix }), table.parentNode);
    let token = "", count = 0;
    async function page() {
      const r = await api("listObjects", { bucket, prefix: listPrefix, token, flat });
      for (const f of r.folders) {
        count++;
        tbody.append(el("tr", { class: "folder" },
          el("td", {}, el("a", { href: objectsHash(bucket, f), text: f.slice(prefix.length) })),
          el("td", { text: "—" }), el("td", { class: "opt" }), el("td")));
      }
      for (const o of r.objects) {
        if (o.key === prefix && o.key.endsWith("/")) continue; // the folder marker itself
        count++;
        const name = flat ? o.key.slice(prefix.length) : o.key.slice(prefix.length);
        tbody.append(el("tr", {},
          el("td", {}, el("button", { type: "button", class: "link", text: name, onclick: () => details(bucket, o.key) })),
          el("td", { text: fmtSize(o.size) }),
          el("td", { class: "opt", text: fmtTime(o.lastModified) }),
          el("td", {}, el("div", { class: "row-actions" },
            el("button", { type: "button", text: "Share", "aria-label": "Share " + o.key, onclick: () => shareDialog(bucket, o.key) }),
            el("button", { type: "button", text: "Download", "aria-label": "Download " + o.key, onclick: () => download(bucket, o.key) }),
            el("button", { type: "button", class: "danger", text: "Delete", "aria-label": "Delete " + o.key,
              onclick: () => confirmDialog("Delete object", "Delete " + o.key + "? This cannot be undone.",
                () => api("deleteObject", { bucket, key: o.key })).then(ok => { if (ok) { say("Deleted " + o.key + "."); route(); } }) })))));
      }
      token = r.nextToken || "";
      more.hidden = !r.truncated;
      if (!count) tbody.append(el("tr", {}, el("td", { colspan: "4", text: flat ? "No keys match." : "This folder is empty." })));
    }
    more.addEventListener("click", () => { more.disabled = true; page().catch(e => main.append(alertBox(e))).finally(() => { more.disabled = false; }); });
    await page();
    if (!search) h.focus();
  }

  async function details(bucket, key) {
    let o;
    try { o = await api("headObject", { bucket, key }); } catch (e) { openDialog("Object", alertBox(e)); return; }
    const dl = el("dl", { class: "props" });
    const add = (k, v) => dl.append(el("dt", { text: k }), el("dd", { text: v }));
    add("Key", o.key); add("Size", fmtSize(o.size) + " (" + o.size + " bytes)"); add("Type", o.contentType);
    add("Last modified", fmtTime(o.lastModified)); add("ETag", o.etag);
    for (const [k, v] of Object.entries(o.headers || {})) add(k, v);
    for (const [k, v] of Object.entries(o.metadata || {})) add("x-amz-meta-" + k, v);
    openDialog("Object details", dl, el("div", { class: "actions" },
      el("button", { type: "button", text: "Share", onclick: () => shareDialog(bucket, key) }),
      el("button", { type: "button", text: "Download", onclick: () => download(bucket, key) })));
  }

  async function download(bucket, key) {
    try {
      const r = await api("downloadURL", { bucket, key });
      const a = el("a", { href: r.url, download: "" });
      document.body.append(a); a.click(); a.remove();
    } catch (e) { say(errorText(e)); }
  }

  function newFolder(bucket, prefix) {
    const name = el("input", { id: "folder-name", required: true, spellcheck: "false" });
    const msg = el("div");
    const form = el("form", {}, field("Folder name", name), msg,
      el("div", { class: "actions" }, el("button", { type: "submit", class: "primary", text: "Create folder" })));
    form.addEventListener("submit", async ev => {
      ev.preventDefault(); msg.textContent = "";
      const n = name.value.trim().replace(/^\/+|\/+$/g, "");
      if (!n) { msg.append(alertBox({ message: "Enter a folder name." })); return; }
      try { await api("createFolder", { bucket, key: prefix + n + "/" }); dialog.close(); say("Folder " + n + " created."); route(); }
      catch (e) { msg.append(alertBox(e)); }
    });
    openDialog("New folder", form);
  }

  // ---- uploads: straight from the browser to Postern ----
  async function ensureCors(bucket, corsBox) {
    if (!session.needsCors) return true;
    try {
      const c = await api("getCors", { bucket });
      if (c.consoleAllowed) return true;
    } catch (e) { return true; } // reading CORS may be denied; try anyway
    corsBox.textContent = "";
    const btn = el("button", { type: "button", id: "allow-console-cors", text: "Allow uploads from this console" });
    const p = el("div", { class: "notice", role: "alert" },
      el("p", { text: "The console runs on another origin (" + session.consoleOrigin + ") than the S3 endpoint (" + session.s3Endpoint + "), so the browser needs a CORS rule on this bucket to upload to it directly." }), btn);
    corsBox.append(p);
    return new Promise(resolve => {
      btn.addEventListener("click", async () => {
        try { await api("allowConsoleCors", { bucket }); corsBox.textContent = ""; say("CORS rule added."); resolve(true); }
        catch (e) { p.append(alertBox(e)); resolve(false); }
      });
    });
  }
  async function uploadFiles(bucket, prefix, files, list, corsBox) {
    if (!files.length) return;
    if (!(await ensureCors(bucket, corsBox))) return;
    let failed = 0;
    await Promise.all(files.map(async f => {
      const key = prefix + f.name;
      const bar = el("progress", { max: "100", value: "0", id: nextId("p") });
      const label = el("label", { for: bar.id, text: key });
      const state = el("span", { class: "state", text: "uploading" });
      const item = el("li", { "data-key": key }, label, bar, state);
      list.append(item);
      const progress = pct => { bar.value = pct; bar.setAttribute("aria-valuetext", Math.round(pct) + "%"); };
      try {
        if (f.size >= session.multipartThreshold) await uploadMultipart(bucket, key, f, progress);
        else await uploadPost(bucket, key, f, progress);
        progress(100); state.textContent = "done"; item.classList.add("done");
      } catch (e) {
        failed++; state.textContent = "failed: " + errorText(e); item.classList.add("failed");
      }
    }));
    say(failed ? failed + " upload(s) failed." : "Uploaded " + files.length + " file(s).");
    const r = parseRoute();
    if (r[0] === "b" && r[1] === bucket) {
      const keep = [...list.children];
      await route();
      const nl = $("uploads");
      if (nl) for (const li of keep) nl.append(li);
    }
  }
  function xhrSend(method, url, body, progress, loaded0, total) {
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open(method, url);
      x.upload.addEventListener("progress", ev => { if (total) progress(100 * (loaded0 + ev.loaded) / total); });
      x.addEventListener("load", () => {
        if (x.status >= 200 && x.status < 300) return resolve(x);
        const doc = new DOMParser().parseFromString(x.responseText || "", "application/xml");
        const get = n => { const e = doc.getElementsByTagName(n)[0]; return e ? e.textContent : ""; };
        reject(new APIError({ code: get("Code") || "HTTP" + x.status, message: get("Message") || "Upload failed with status " + x.status }));
      });
      x.addEventListener("error", () => reject(new APIError({ code: "NetworkError", message: "The browser could not reach " + session.s3Endpoint + " (a missing CORS rule?)" })));
      x.send(body);
    });
  }
  async function uploadPost(bucket, key, f, progress) {
    const form = await api("uploadPost", { bucket, key, size: f.size, contentType: f.type || "application/octet-stream" });
    const fd = new FormData();
    for (const [k, v] of Object.entries(form.fields)) fd.append(k, v);
    fd.append("file", f);
    await xhrSend("POST", form.url, fd, progress, 0, f.size || 1);
  }
  async function uploadMultipart(bucket, key, f, progress) {
    const ps = session.partSize;
    const n = Math.ceil(f.size / ps);
    const { uploadId } = await api("mpuStart", { bucket, key, contentType: f.type || "application/octet-stream" });
    try {
      const done = new Array(n + 1).fill(0);
      const report = () => progress(100 * done.reduce((a, b) => a + b, 0) / f.size);
      for (let start = 1; start <= n; start += 100) {
        const nums = [];
        for (let i = start; i < start + 100 && i <= n; i++) nums.push(i);
        const { urls } = await api("mpuPartURLs", { bucket, key, uploadId, parts: nums });
        let next = 0;
        const worker = async () => {
          while (next < nums.length) {
            const i = nums[next++];
            const blob = f.slice((i - 1) * ps, Math.min(i * ps, f.size));
            await xhrSend("PUT", urls[String(i)], blob, pct => { done[i] = pct / 100 * blob.size; report(); }, 0, blob.size);
            done[i] = blob.size; report();
          }
        };
        await Promise.all([worker(), worker(), worker()]);
      }
      await api("mpuComplete", { bucket, key, uploadId });
    } catch (e) {
      api("mpuAbort", { bucket, key, uploadId }).catch(() => {});
      throw e;
    }
  }

  // ---- share with a presigned URL ----
  function durationPicker(defaultSeconds) {
    const presets = [["3600", "1 hour"], ["86400", "1 day"], ["604800", "7 days"], ["custom", "Custom"]];
    const fs = el("fieldset", { class: "presets" }, el("legend", { text: "Valid for" }));
    const name = nextId("dur");
    const amount = el("input", { type: "number", id: nextId("amount"), min: "1", value: "30", disabled: true, inputmode: "numeric" });
    const unit = el("select", { id: nextId("unit"), disabled: true },
      el("option", { value: "1", text: "seconds" }), el("option", { value: "60", text: "minutes", selected: true }),
      el("option", { value: "3600", text: "hours" }), el("option", { value: "86400", text: "days" }));
    for (const [v, t] of presets) {
      const r = el("input", { type: "radio", name, value: v, id: nextId("r"), checked: v === String(defaultSeconds) });
      r.addEventListener("change", () => { amount.disabled = unit.disabled = v !== "custom"; if (v === "custom") amount.focus(); });
      fs.append(el("span", { class: "radio" }, r, el("label", { for: r.id, text: t })));
    }
    const custom = el("div", { class: "custom" }, el("label", { for: amount.id, text: "Custom duration" }), amount,
      el("label", { for: unit.id, class: "sr-only", text: "Unit" }), unit);
    fs.append(custom, el("p", { class: "hint", text: "From 1 second to 7 days." }));
    const seconds = () => {
      const v = fs.querySelector("input[type=radio]:checked").value;
      return v === "custom" ? Math.round(Number(amount.value) * Number(unit.value)) : Number(v);
    };
    return { node: fs, seconds, amount, unit };
  }
  function capNote() {
    if (!session.temporary) return null;
    return el("p", { class: "notice", id: "cap-note", text: "You signed in with temporary credentials that expire at " + fmtTime(session.credentialExpires) +
      ". A presigned URL stops working when the credentials that signed it expire, so links are capped at that time." });
  }
  function qrSVG(rows) {
    const NS = "http://www.w3.org/2000/svg";
    const n = rows.length, q = 4;
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + (n + 2 * q) + " " + (n + 2 * q));
    svg.setAttribute("class", "qr"); svg.setAttribute("role", "img"); svg.setAttribute("aria-label", "QR code of the link");
    svg.setAttribute("shape-rendering", "crispEdges");
    const bg = document.createElementNS(NS, "rect");
    bg.setAttribute("width", n + 2 * q); bg.setAttribute("height", n + 2 * q); bg.setAttribute("fill", "#fff");
    let d = "";
    rows.forEach((row, y) => { for (let x = 0; x < n; x++) if (row[x] === "1") d += "M" + (x + q) + " " + (y + q) + "h1v1h-1z"; });
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", d); path.setAttribute("fill", "#000");
    svg.append(bg, path);
    return svg;
  }
  async function copyText(text, input) {
    try { await navigator.clipboard.writeText(text); return true; } catch (e) {
      if (input) { input.select(); try { return document.execCommand("copy"); } catch (e2) { return false; } }
      return false;
    }
  }
  function linkResult(res, label) {
    const out = el("div", { class: "share-result" });
    const url = el("input", { id: "share-url", readonly: true, value: res.url, spellcheck: "false" });
    const confirmMsg = el("span", { id: "copy-status", role: "status", "aria-live": "polite" });
    const copy = el("button", { type: "button", id: "copy-link", class: "primary", text: "Copy link" });
    copy.addEventListener("click", async () => {
      const ok = await copyText(res.url, url);
      confirmMsg.textContent = ok ? "Copied to clipboard." : "Could not copy: select the link and copy it.";
    });
    const exp = new Date(res.expires);
    out.append(...[field(label, url),
      el("p", { id: "share-expiry" }, "Expires ", el("time", { datetime: res.expires, text: exp.toLocaleString() }), " (" + res.expires + ", in " + res.seconds + " s)."),
      res.capped ? el("p", { class: "notice", id: "capped", text: "Shortened: " + (res.capReason || "capped by your credentials' lifetime.") }) : null,
      el("div", { class: "actions" }, copy, confirmMsg)].filter(Boolean));
    if (res.qr) {
      const show = el("button", { type: "button", text: "Show QR code", "aria-expanded": "false" });
      const box = el("div", { class: "qr-box", hidden: true }, qrSVG(res.qr));
      show.addEventListener("click", () => { box.hidden = !box.hidden; show.setAttribute("aria-expanded", String(!box.hidden)); });
      out.append(show, box);
    }
    return { out, copy };
  }
  // The share dialog makes a tracked link by default (the share API: its
  // own key, a use limit, revocable on the Shares page); unchecked, a plain
  // presigned URL signed with the user's own key, as before.
  function shareDialog(bucket, key) {
    const dur = durationPicker(3600);
    const tracked = el("input", { type: "checkbox", id: "share-tracked", checked: true, "aria-describedby": "share-tracked-hint" });
    const maxUses = el("input", { id: "share-max-uses", type: "number", min: "0", max: "1000000000", value: "0", inputmode: "numeric" });
    const note = el("input", { id: "share-note", maxlength: "1024", spellcheck: "true" });
    const hook = el("input", { id: "share-webhook", type: "url", spellcheck: "false", autocapitalize: "off", placeholder: "https://hooks.example.com/postern" });
    const trackedBox = el("div", { id: "tracked-fields" },
      field("Maximum uses (0 for unlimited)", maxUses, "A use is a completed download; a resumed download is free."),
      field("Note (optional, for you)", note, "Shown on the Shares page, e.g. who the link is for."),
      field("Webhook URL (optional)", hook, "Called when the link is used, revoked or runs out of uses."));
    const fname = el("input", { id: "share-filename", spellcheck: "false" });
    const plainBox = el("div", { id: "plain-fields", hidden: true },
      field("Download as (optional file name)", fname, "Sets response-content-disposition so the browser saves the file under this name."));
    tracked.addEventListener("change", () => { trackedBox.hidden = !tracked.checked; plainBox.hidden = tracked.checked; });
    const msg = el("div"), result = el("div");
    const form = el("form", { id: "share-form" }, el("p", { class: "mono", text: bucket + "/" + key }),
      el("div", { class: "check" }, tracked, el("label", { for: "share-tracked", text: "Tracked link" })),
      el("p", { class: "hint", id: "share-tracked-hint", text: "A tracked link can be limited in uses, shows who used it and when, and can be revoked on its own on the Shares page. Untick for a plain presigned URL signed with your own key." }),
      dur.node, capNote(), trackedBox, plainBox,
      msg, el("div", { class: "actions" }, el("button", { type: "submit", class: "primary", id: "share-create", text: "Create link" })), result);
    form.addEventListener("submit", async ev => {
      ev.preventDefault(); msg.textContent = ""; result.textContent = "";
      const s = dur.seconds();
      if (!(s >= 1 && s <= 604800)) { msg.append(alertBox({ message: "Choose a duration from 1 second to 7 days." })); dur.amount.focus(); return; }
      try {
        if (tracked.checked) {
          const n = maxUses.value.trim() === "" ? 0 : Number(maxUses.value);
          if (!Number.isInteger(n) || n < 0 || n > 1e9) { msg.append(alertBox({ message: "Maximum uses: a whole number from 0 (unlimited) to 1000000000." })); maxUses.focus(); return; }
          const res = await api("createShare", { bucket, key, seconds: s, maxUses: n, note: note.value, webhook: hook.value });
          const { out, copy } = linkResult(res.link, "Tracked link");
          out.append(el("p", { id: "share-id" }, "Tracked as ", el("span", { class: "mono", text: res.share.id }),
            (n ? ", " + n + " use" + (n === 1 ? "" : "s") : ", unlimited uses") + ". ", el("a", { href: "#/shares", text: "See it on the Shares page" }), "."));
          result.append(out);
          copy.focus();
        } else {
          const res = await api("share", { bucket, key, seconds: s, filename: fname.value });
          const { out, copy } = linkResult(res, "Presigned URL");
          result.append(out);
          copy.focus();
        }
      } catch (e) { msg.append(alertBox(e)); }
    });
    openDialog("Share a link", form);
  }

  // ---- tracked shares: list, state, audit, revoke ----
  const stateClass = st => "state-badge state-" + String(st || "").replace(/[^a-z]+/g, "-");
  function usesText(sh) { return String(sh.uses || 0) + " / " + (sh.maxUses ? String(sh.maxUses) : "unlimited"); }
  async function viewShares(all) {
    const main = mainView;
    const h = heading(all ? "Shares of the account" : "Shares");
    main.append(el("p", { class: "hint", text: "Tracked links: each is a presigned URL with a key of its own, so revoking one stops that link alone, from its next request on." }));
    const allBox = el("input", { type: "checkbox", id: "shares-all", checked: all });
    const allWrap = el("div", { class: "check", id: "shares-all-wrap", hidden: !all },
      allBox, el("label", { for: "shares-all", text: "Show every share of the account (not only mine)" }));
    allBox.addEventListener("change", () => { location.hash = allBox.checked ? "#/shares/all" : "#/shares"; });
    main.append(allWrap);
    // The toggle is offered when the policy allows listing others' shares.
    if (!all) api("listShares", { all: true, limit: 1 }).then(() => { allWrap.hidden = false; }).catch(() => {});
    const tbody = el("tbody");
    const cols = ["Object", "State", "Uses", "Last use", "Expires", "Note"].concat(all ? ["Creator"] : []).concat(["Actions"]);
    main.append(el("div", { class: "table-wrap" }, el("table", { id: "shares" },
      el("caption", { class: "sr-only", text: all ? "Shares of the account" : "Your shares" }),
      el("thead", {}, el("tr", {}, ...cols.map(c => el("th", { scope: "col", text: c })))), tbody)));
    const more = el("button", { type: "button", id: "shares-more", text: "Load more", hidden: true });
    main.append(more);
    let after = "", count = 0;
    const page = async () => {
      const r = await api("listShares", all ? { all: true, after } : { after });
      for (const sh of (r.shares || [])) { count++; addShareRow(tbody, sh, cols.length, all); }
      after = r.nextAfter || "";
      more.hidden = !after;
      if (!count) tbody.append(el("tr", {}, el("td", { colspan: String(cols.length), text: "No shares yet. Share an object from its bucket to make one." })));
    };
    more.addEventListener("click", () => { more.disabled = true; page().catch(e => main.append(alertBox(e))).finally(() => { more.disabled = false; }); });
    await page();
    h.focus();
  }
  function addShareRow(tbody, sh, ncols, all) {
    const what = sh.bucket + "/" + sh.key + (sh.method === "POST" ? "*" : "");
    const auditRow = el("tr", { class: "audit-row", hidden: true });
    const auditCell = el("td", { colspan: String(ncols) });
    auditRow.append(auditCell);
    auditRow.id = nextId("audit");
    const auditBtn = el("button", { type: "button", class: "audit-toggle", text: "Audit", "aria-expanded": "false", "aria-controls": auditRow.id,
      "aria-label": "Audit of the link to " + what });
    let loaded = false;
    auditBtn.addEventListener("click", async () => {
      const open = auditRow.hidden;
      auditRow.hidden = !open; auditBtn.setAttribute("aria-expanded", String(open));
      if (!open || loaded) return;
      auditCell.textContent = "Loading…";
      try {
        const full = await api("getShare", { id: sh.id });
        loaded = true;
        auditCell.textContent = "";
        auditCell.append(auditTable(full));
      } catch (e) { auditCell.textContent = ""; auditCell.append(alertBox(e)); }
    });
    const actions = el("div", { class: "row-actions" }, auditBtn);
    if (sh.url && sh.state === "active") {
      const st = el("span", { role: "status" });
      actions.append(el("button", { type: "button", text: "Copy link", "aria-label": "Copy the link to " + what, onclick: async () => {
        st.textContent = (await copyText(sh.url)) ? "Copied." : "Could not copy.";
      } }), st);
    }
    if (sh.state !== "revoked") {
      actions.append(el("button", { type: "button", class: "danger revoke", text: "Revoke", "aria-label": "Revoke the link to " + what,
        onclick: () => confirmDialog("Revoke share link", "Revoke the link to " + what + (sh.note ? " (" + sh.note + ")" : "") +
          "? It answers 403 from its next request on. This cannot be undone.", () => api("revokeShare", { id: sh.id }), "Revoke")
          .then(ok => { if (ok) { say("Share link revoked."); route(); } }) }));
    }
    const cells = [
      el("span", { class: "mono", text: (sh.method === "GET" ? "" : sh.method + " ") + what }),
      el("span", { class: stateClass(sh.state), text: sh.state }),
      usesText(sh), sh.lastUsed ? fmtTime(sh.lastUsed) : "never", fmtTime(sh.expiresAt), sh.note || "",
    ];
    if (all) cells.push(sh.creator || "");
    cells.push(actions);
    tbody.append(el("tr", { "data-id": sh.id }, ...cells.map(c => el("td", {}, c))), auditRow);
  }
  function auditTable(sh) {
    const rows = sh.audit || [];
    const tbody = el("tbody");
    for (const a of rows) {
      tbody.append(el("tr", {}, ...[fmtTime(a.time), a.source, a.userAgent, a.method, String(a.status), fmtSize(a.bytes || 0), a.range || "",
        a.counted ? "yes" : "no"].map(v => el("td", { text: v }))));
    }
    if (!rows.length) tbody.append(el("tr", {}, el("td", { colspan: "8", text: "Not used yet." })));
    const total = sh.auditTotal || rows.length;
    return el("div", { class: "audit" }, el("table", { class: "audit-table", "data-id": sh.id },
      el("caption", { text: "Requests made with this link, newest first (" + rows.length + (total > rows.length ? " of " + total : "") + ")" }),
      el("thead", {}, el("tr", {}, ...["Time", "Source", "User agent", "Method", "Status", "Bytes", "Range", "Counted"].map(c => el("th", { scope: "col", text: c })))),
      tbody));
  }
  function uploadLinkDialog(bucket, prefix) {
    const dur = durationPicker(86400);
    const pre = el("input", { id: "drop-prefix", value: prefix + "uploads/", spellcheck: "false" });
    const max = el("input", { id: "drop-max", type: "number", min: "1", value: "100", inputmode: "numeric" });
    const msg = el("div"), result = el("div");
    const form = el("form", {}, el("p", { text: "Anyone with this link can upload one file at a time into the prefix below, without an account, until it expires." }),
      field("Key prefix", pre), field("Size limit (MiB)", max), dur.node, capNote(), msg,
      el("div", { class: "actions" }, el("button", { type: "submit", class: "primary", text: "Create upload link" })), result);
    form.addEventListener("submit", async ev => {
      ev.preventDefault(); msg.textContent = ""; result.textContent = "";
      try {
        const res = await api("uploadLink", { bucket, prefix: pre.value, seconds: dur.seconds(), maxBytes: Math.round(Number(max.value) * 1048576) });
        const { out, copy } = linkResult(res.link, "Upload page link");
        const curl = el("textarea", { readonly: true, rows: "4", id: "drop-curl", spellcheck: "false" });
        curl.value = res.curl;
        out.append(field("Or upload with curl (replace FILENAME)", curl));
        result.append(out);
        copy.focus();
      } catch (e) { msg.append(alertBox(e)); }
    });
    openDialog("Upload link", form);
  }

  // ---- bucket policy ----
  const templates = [
    ["deny-old-presigned", "Deny presigned URLs older than N minutes (s3:signatureAge)"],
    ["header-signed-only", "Allow only header-signed requests (s3:authType) — also blocks presigned links and browser uploads"],
    ["deny-unsigned-payload", "Deny uploads with UNSIGNED-PAYLOAD (s3:x-amz-content-sha256)"],
    ["source-ip", "Restrict to source networks (aws:SourceIp)"],
    ["source-vpce", "Restrict to a VPC endpoint (aws:SourceVpce)"],
    ["public-prefix", "Make a prefix public (anonymous read)"],
  ];
  async function viewPolicy(bucket) {
    const main = mainView;
    main.append(el("nav", { "aria-label": "Bucket", class: "crumbs" }, el("a", { href: "#/buckets", text: "Buckets" }), " / ",
      el("a", { href: objectsHash(bucket, ""), text: bucket })));
    const h = heading("Bucket policy: " + bucket);
    const data = await api("getPolicy", { bucket });
    const editor = el("textarea", { id: "policy-editor", rows: "18", spellcheck: "false", "aria-describedby": "policy-error", "aria-invalid": "false" });
    editor.value = data.policy ? pretty(data.policy) : "";
    const perr = el("div", { id: "policy-error", class: "field-error", "aria-live": "polite" });
    const setErr = text => { perr.textContent = text; editor.setAttribute("aria-invalid", text ? "true" : "false"); };
    editor.addEventListener("input", () => {
      if (!editor.value.trim()) return setErr("");
      try { JSON.parse(editor.value); setErr(""); } catch (e) { setErr("Not valid JSON: " + e.message); }
    });
    const save = el("button", { type: "button", class: "primary", id: "policy-save", text: "Save policy" });
    save.addEventListener("click", async () => {
      try { JSON.parse(editor.value); } catch (e) { setErr("Not valid JSON: " + e.message); editor.focus(); return; }
      try { await api("putPolicy", { bucket, policy: editor.value }); setErr(""); say("Bucket policy saved."); }
      catch (e) { setErr(errorText(e)); editor.focus(); }
    });
    const del = el("button", { type: "button", class: "danger", text: "Delete policy",
      onclick: () => confirmDialog("Delete bucket policy", "Remove the policy of " + bucket + "?", () => api("deletePolicy", { bucket }))
        .then(ok => { if (ok) { say("Bucket policy deleted."); route(); } }) });

    // Block Public Access
    const pab = data.publicAccessBlock || {};
    const boxes = {};
    const pabForm = el("fieldset", { id: "bpa" }, el("legend", { text: "Block Public Access" }),
      el("p", { class: "hint", text: "New buckets block public access by default: a policy that grants access to everyone (Principal \"*\") is refused while \"Block public policies\" is on, and ignored while \"Restrict public buckets\" is on." }));
    for (const [k, t] of [["blockPublicAcls", "Block public ACLs"], ["ignorePublicAcls", "Ignore public ACLs"], ["blockPublicPolicy", "Block public policies"], ["restrictPublicBuckets", "Restrict public buckets"]]) {
      boxes[k] = el("input", { type: "checkbox", id: "bpa-" + k, checked: !!pab[k] });
      pabForm.append(el("div", { class: "check" }, boxes[k], el("label", { for: boxes[k].id, text: t })));
    }
    const pabMsg = el("div");
    const savePab = async vals => {
      pabMsg.textContent = "";
      try { await api("putPublicAccessBlock", Object.assign({ bucket }, vals)); say("Block Public Access saved."); return true; }
      catch (e) { pabMsg.append(alertBox(e)); return false; }
    };
    const pabVals = () => Object.fromEntries(Object.entries(boxes).map(([k, b]) => [k, b.checked]));
    pabForm.append(pabMsg, el("button", { type: "button", text: "Save Block Public Access", onclick: () => savePab(pabVals()) }));
    if (data.publicAccessBlockError) pabForm.append(alertBox(data.publicAccessBlockError));

    // templates
    const sel = el("select", { id: "template" });
    for (const [v, t] of templates) sel.append(el("option", { value: v, text: t }));
    const minutes = el("input", { type: "number", id: "tpl-minutes", min: "1", value: "60" });
    const cidrs = el("input", { id: "tpl-cidrs", placeholder: "192.0.2.0/24, 2001:db8::/32" });
    const vpce = el("input", { id: "tpl-vpce", placeholder: "vpce-1a2b3c4d" });
    const tprefix = el("input", { id: "tpl-prefix", value: "public/" });
    const params = {
      "deny-old-presigned": field("Maximum signature age (minutes)", minutes),
      "source-ip": field("Allowed networks (comma-separated CIDRs)", cidrs),
      "source-vpce": field("VPC endpoint id", vpce),
      "public-prefix": field("Public prefix", tprefix),
    };
    const paramBox = el("div");
    const publicNote = el("div", { class: "notice", id: "public-note", hidden: true },
      el("p", { text: "Block Public Access is on by default for new buckets, and a public policy is refused while it is on. Turn off \"Block public policies\" and \"Restrict public buckets\" for this bucket to make the prefix public." }),
      el("button", { type: "button", id: "bpa-off", text: "Turn off Block Public Access for policies", onclick: async () => {
        boxes.blockPublicPolicy.checked = false; boxes.restrictPublicBuckets.checked = false;
        await savePab(pabVals());
      } }));
    const showParams = () => {
      paramBox.textContent = "";
      if (params[sel.value]) paramBox.append(params[sel.value]);
      publicNote.hidden = sel.value !== "public-prefix";
    };
    sel.addEventListener("change", showParams);
    showParams();
    const tmsg = el("div");
    const apply = el("button", { type: "button", id: "template-apply", text: "Add to policy" });
    apply.addEventListener("click", async () => {
      tmsg.textContent = "";
      try {
        const r = await api("policyTemplate", { bucket, template: sel.value, minutes: Number(minutes.value), cidrs: cidrs.value.split(","), vpce: vpce.value, prefix: tprefix.value });
        let doc = JSON.parse(r.policy);
        try {
          const cur = JSON.parse(editor.value);
          if (cur && Array.isArray(cur.Statement)) { cur.Statement = cur.Statement.concat(doc.Statement); doc = cur; }
        } catch (e) { /* replace an empty or broken editor */ }
        editor.value = JSON.stringify(doc, null, 2);
        setErr("");
        say("Template added to the editor. Review it, then save.");
        editor.focus();
      } catch (e) { tmsg.append(alertBox(e)); }
    });
    main.append(
      el("section", { "aria-labelledby": "tpl-h" }, el("h2", { id: "tpl-h", text: "Templates" }),
        field("Template", sel), paramBox, publicNote, tmsg, apply,
        el("p", { class: "hint", text: "Deny statements apply to everyone, you included; the bucket owner's root can always change the policy again." })),
      el("section", { "aria-labelledby": "ed-h" }, el("h2", { id: "ed-h", text: "Policy document" }),
        el("label", { for: "policy-editor", text: "Bucket policy (JSON)" }), editor, perr,
        el("div", { class: "actions" }, save, data.policy ? del : null)),
      pabForm);
    h.focus();
  }
  function pretty(s) { try { return JSON.stringify(JSON.parse(s), null, 2); } catch (e) { return s; } }

  // ---- CORS ----
  async function viewCors(bucket) {
    const main = mainView;
    main.append(el("nav", { "aria-label": "Bucket", class: "crumbs" }, el("a", { href: "#/buckets", text: "Buckets" }), " / ",
      el("a", { href: objectsHash(bucket, ""), text: bucket })));
    const h = heading("CORS rules: " + bucket);
    const c = await api("getCors", { bucket });
    const editor = el("textarea", { id: "cors-editor", rows: "16", spellcheck: "false", "aria-describedby": "cors-error" });
    editor.value = c.config.CORSRules.length ? JSON.stringify(c.config, null, 2) : "";
    const err = el("div", { id: "cors-error", class: "field-error", "aria-live": "polite" });
    const save = el("button", { type: "button", class: "primary", text: "Save CORS rules", onclick: async () => {
      err.textContent = "";
      try { await api("putCors", { bucket, document: editor.value }); say("CORS rules saved."); route(); } catch (e) { err.textContent = errorText(e); editor.focus(); }
    } });
    const del = el("button", { type: "button", class: "danger", text: "Delete CORS rules",
      onclick: () => confirmDialog("Delete CORS rules", "Remove every CORS rule of " + bucket + "?", () => api("deleteCors", { bucket })).then(ok => { if (ok) route(); }) });
    const allow = el("button", { type: "button", text: "Allow uploads from this console", onclick: async () => {
      try { await api("allowConsoleCors", { bucket }); say("CORS rule added."); route(); } catch (e) { err.textContent = errorText(e); }
    } });
    main.append(el("p", { text: c.needed ? (c.consoleAllowed ? "This console (" + c.origin + ") may upload to this bucket." : "This console (" + c.origin + ") runs on another origin than the S3 endpoint and has no CORS rule here yet: uploads from the console need one.") : "The console shares the S3 endpoint's origin and needs no CORS rule." }),
      el("label", { for: "cors-editor", text: "CORS configuration (JSON as the AWS CLI takes it, or S3's XML)" }), editor, err,
      el("div", { class: "actions" }, save, c.config.CORSRules.length ? del : null, c.needed && !c.consoleAllowed ? allow : null));
    h.focus();
  }

  // ---- identity pages (IAM query API, as the signed-in principal) ----
  function simpleTable(id, cols, rows) {
    const tbody = el("tbody");
    for (const r of rows) tbody.append(el("tr", {}, ...r.map((c, i) => el("td", { class: cols[i].opt ? "opt" : null }, c))));
    if (!rows.length) tbody.append(el("tr", {}, el("td", { colspan: String(cols.length), text: "None." })));
    return el("div", { class: "table-wrap" }, el("table", { id },
      el("thead", {}, el("tr", {}, ...cols.map(c => el("th", { scope: "col", class: c.opt ? "opt" : null, text: c.t })))), tbody));
  }
  function createForm(id, fields, label, submit) {
    const msg = el("div");
    const form = el("form", { id, class: "inline-form" }, ...fields, el("button", { type: "submit", class: "primary", text: label }), msg);
    form.addEventListener("submit", async ev => {
      ev.preventDefault(); msg.textContent = "";
      try { await submit(); } catch (e) { msg.append(alertBox(e)); }
    });
    return form;
  }
  function delButton(what, name, fn) {
    return el("button", { type: "button", class: "danger", text: "Delete", "aria-label": "Delete " + what + " " + name,
      onclick: () => confirmDialog("Delete " + what, "Delete " + what + " " + name + "?", fn).then(ok => { if (ok) { say(what + " " + name + " deleted."); route(); } }) });
  }
  async function viewUsers() {
    const main = mainView;
    const h = heading("Users");
    const name = el("input", { id: "new-user", required: true, spellcheck: "false" });
    main.append(createForm("create-user", [field("New user name", name)], "Create user", async () => {
      await iam("CreateUser", { UserName: name.value.trim() }); say("User created."); route();
    }));
    const r = await iamAll("ListUsers");
    main.append(simpleTable("users", [{ t: "Name" }, { t: "ARN", opt: true }, { t: "Created", opt: true }, { t: "Actions" }],
      asList(r.Users).map(u => [el("a", { href: "#/iam/users/" + enc(u.UserName), text: u.UserName }), u.Arn, fmtTime(u.CreateDate),
        delButton("user", u.UserName, () => iam("DeleteUser", { UserName: u.UserName }))])));
    h.focus();
  }
  async function viewUser(user) {
    const main = mainView;
    main.append(el("nav", { class: "crumbs", "aria-label": "Users" }, el("a", { href: "#/iam/users", text: "Users" })));
    const h = heading("User: " + user);
    const keys = await iamAll("ListAccessKeys", { UserName: user });
    const createKey = el("button", { type: "button", class: "primary", id: "create-key", text: "Create access key", onclick: async () => {
      try {
        const r = await iam("CreateAccessKey", { UserName: user });
        const k = r.AccessKey;
        const secret = el("input", { id: "new-secret", readonly: true, value: k.SecretAccessKey });
        const st = el("span", { role: "status" });
        openDialog("New access key", el("p", { class: "notice", text: "This is the only time the secret access key is shown. Copy it now." }),
          field("Access key ID", el("input", { readonly: true, value: k.AccessKeyId })), field("Secret access key", secret),
          el("div", { class: "actions" }, el("button", { type: "button", text: "Copy secret", onclick: async () => { st.textContent = (await copyText(k.SecretAccessKey, secret)) ? "Copied." : "Select and copy it."; } }), st));
        dialog.addEventListener("close", () => route(), { once: true });
      } catch (e) { say(errorText(e)); }
    } });
    main.append(el("section", {}, el("h2", { text: "Access keys" }), createKey,
      simpleTable("keys", [{ t: "Access key ID" }, { t: "Status" }, { t: "Created", opt: true }, { t: "Actions" }],
        asList(keys.AccessKeyMetadata).map(k => [k.AccessKeyId, k.Status, fmtTime(k.CreateDate), el("span", { class: "row-actions" },
          el("button", { type: "button", text: k.Status === "Active" ? "Deactivate" : "Activate", onclick: async () => {
            try { await iam("UpdateAccessKey", { UserName: user, AccessKeyId: k.AccessKeyId, Status: k.Status === "Active" ? "Inactive" : "Active" }); route(); } catch (e) { say(errorText(e)); }
          } }),
          delButton("access key", k.AccessKeyId, () => iam("DeleteAccessKey", { UserName: user, AccessKeyId: k.AccessKeyId })))]))));
    const groups = await iamAll("ListGroupsForUser", { UserName: user }).catch(e => ({ error: e }));
    const gname = el("input", { id: "add-group", spellcheck: "false" });
    main.append(el("section", {}, el("h2", { text: "Groups" }), groups.error ? alertBox(groups.error) :
      simpleTable("user-groups", [{ t: "Group" }, { t: "Actions" }], asList(groups.Groups).map(g => [g.GroupName,
        el("button", { type: "button", text: "Remove", onclick: async () => { try { await iam("RemoveUserFromGroup", { UserName: user, GroupName: g.GroupName }); route(); } catch (e) { say(errorText(e)); } } })])),
      createForm("add-to-group", [field("Add to group", gname)], "Add", async () => { await iam("AddUserToGroup", { UserName: user, GroupName: gname.value.trim() }); route(); })));
    const att = await iamAll("ListAttachedUserPolicies", { UserName: user }).catch(e => ({ error: e }));
    const parn = el("input", { id: "attach-arn", spellcheck: "false", placeholder: "arn:aws:iam::ACCOUNT:policy/NAME" });
    main.append(el("section", {}, el("h2", { text: "Attached policies" }), att.error ? alertBox(att.error) :
      simpleTable("user-policies", [{ t: "Policy" }, { t: "ARN", opt: true }, { t: "Actions" }], asList(att.AttachedPolicies).map(p => [p.PolicyName, p.PolicyArn,
        el("button", { type: "button", text: "Detach", onclick: async () => { try { await iam("DetachUserPolicy", { UserName: user, PolicyArn: p.PolicyArn }); route(); } catch (e) { say(errorText(e)); } } })])),
      createForm("attach-policy", [field("Attach policy (ARN)", parn)], "Attach", async () => { await iam("AttachUserPolicy", { UserName: user, PolicyArn: parn.value.trim() }); route(); })));
    main.append(await inlinePolicies(user));
    h.focus();
  }
  // Inline policies of a user: list, view/edit, put (JSON checked as typed,
  // IAM's MalformedPolicyDocument shown under the editor), delete.
  async function inlinePolicies(user) {
    const list = await iamAll("ListUserPolicies", { UserName: user }).catch(e => ({ error: e }));
    const pname = el("input", { id: "inline-name", spellcheck: "false", required: true });
    const doc = el("textarea", { id: "inline-doc", rows: "8", spellcheck: "false", "aria-describedby": "inline-error", "aria-invalid": "false" });
    doc.value = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::BUCKET/*" }] }, null, 2);
    const perr = el("div", { id: "inline-error", class: "field-error", "aria-live": "polite" });
    const setErr = text => { perr.textContent = text; doc.setAttribute("aria-invalid", text ? "true" : "false"); };
    doc.addEventListener("input", () => {
      if (!doc.value.trim()) return setErr("");
      try { JSON.parse(doc.value); setErr(""); } catch (e) { setErr("Not valid JSON: " + e.message); }
    });
    const form = el("form", { id: "put-inline", class: "inline-form" }, field("Policy name", pname), field("Policy document (JSON)", doc), perr,
      el("button", { type: "submit", class: "primary", text: "Save inline policy" }));
    form.addEventListener("submit", async ev => {
      ev.preventDefault();
      try { JSON.parse(doc.value); } catch (e) { setErr("Not valid JSON: " + e.message); doc.focus(); return; }
      const n = pname.value.trim();
      try { await iam("PutUserPolicy", { UserName: user, PolicyName: n, PolicyDocument: doc.value }); setErr(""); say("Inline policy " + n + " saved."); route(); }
      catch (e) { setErr(errorText(e)); doc.focus(); }
    });
    const edit = async n => {
      try {
        const r = await iam("GetUserPolicy", { UserName: user, PolicyName: n });
        let text = r.PolicyDocument || "";
        try { text = decodeURIComponent(text); } catch (e) { /* not encoded */ }
        pname.value = n; doc.value = pretty(text); setErr(""); doc.focus();
      } catch (e) { setErr(errorText(e)); }
    };
    return el("section", {}, el("h2", { text: "Inline policies" }), list.error ? alertBox(list.error) :
      simpleTable("inline-policies", [{ t: "Policy" }, { t: "Actions" }], asList(list.PolicyNames).map(n => [n, el("span", { class: "row-actions" },
        el("button", { type: "button", text: "Edit", "aria-label": "Edit inline policy " + n, onclick: () => edit(n) }),
        delButton("inline policy", n, () => iam("DeleteUserPolicy", { UserName: user, PolicyName: n })))])),
      form);
  }
  async function viewGroups() {
    const main = mainView;
    const h = heading("Groups");
    const name = el("input", { id: "new-group", required: true, spellcheck: "false" });
    main.append(createForm("create-group", [field("New group name", name)], "Create group", async () => { await iam("CreateGroup", { GroupName: name.value.trim() }); route(); }));
    const r = await iamAll("ListGroups");
    main.append(simpleTable("groups", [{ t: "Name" }, { t: "ARN", opt: true }, { t: "Actions" }],
      asList(r.Groups).map(g => [el("a", { href: "#/iam/groups/" + enc(g.GroupName), text: g.GroupName }), g.Arn,
        delButton("group", g.GroupName, () => iam("DeleteGroup", { GroupName: g.GroupName }))])));
    h.focus();
  }
  async function viewGroup(group) {
    const main = mainView;
    main.append(el("nav", { class: "crumbs", "aria-label": "Groups" }, el("a", { href: "#/iam/groups", text: "Groups" })));
    const del = el("button", { type: "button", class: "danger", id: "delete-group", text: "Delete group",
      onclick: () => confirmDialog("Delete group", "Delete group " + group + "? It must have no members and no policies.",
        () => iam("DeleteGroup", { GroupName: group })).then(ok => { if (ok) { say("Group " + group + " deleted."); location.hash = "#/iam/groups"; } }) });
    const h = heading("Group: " + group, del);
    const g = await iamAll("GetGroup", { GroupName: group });
    const uname = el("input", { id: "add-member", spellcheck: "false", required: true });
    main.append(el("section", {}, el("h2", { text: "Members" }),
      simpleTable("group-members", [{ t: "User" }, { t: "ARN", opt: true }, { t: "Actions" }], asList(g.Users).map(u => [
        el("a", { href: "#/iam/users/" + enc(u.UserName), text: u.UserName }), u.Arn,
        el("button", { type: "button", text: "Remove", "aria-label": "Remove " + u.UserName + " from " + group, onclick: async () => {
          try { await iam("RemoveUserFromGroup", { UserName: u.UserName, GroupName: group }); say(u.UserName + " removed from " + group + "."); route(); } catch (e) { say(errorText(e)); }
        } })])),
      createForm("add-member-form", [field("Add user", uname)], "Add to group", async () => {
        await iam("AddUserToGroup", { UserName: uname.value.trim(), GroupName: group }); say(uname.value.trim() + " added to " + group + "."); route();
      })));
    h.focus();
  }
  async function viewRoles() {
    const main = mainView;
    const h = heading("Roles");
    const name = el("input", { id: "new-role", required: true, spellcheck: "false" });
    const trust = el("textarea", { id: "new-role-trust", rows: "8", spellcheck: "false" });
    trust.value = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::" + session.account + ":root" }, Action: "sts:AssumeRole" }] }, null, 2);
    main.append(createForm("create-role", [field("New role name", name), field("Trust policy (who may assume the role)", trust, "The default trust policy names this account (\"…:root\"): it lets any user or role of this account whose own policies allow sts:AssumeRole on this role assume it; on its own it grants nobody. Name a user's ARN instead to let that user assume the role without a policy of its own.")], "Create role", async () => {
      await iam("CreateRole", { RoleName: name.value.trim(), AssumeRolePolicyDocument: trust.value }); route();
    }));
    const r = await iamAll("ListRoles");
    main.append(simpleTable("roles", [{ t: "Name" }, { t: "ARN", opt: true }, { t: "Actions" }],
      asList(r.Roles).map(x => [x.RoleName, x.Arn, delButton("role", x.RoleName, () => iam("DeleteRole", { RoleName: x.RoleName }))])));
    h.focus();
  }
  async function viewPolicies() {
    const main = mainView;
    const h = heading("Policies");
    const name = el("input", { id: "new-policy", required: true, spellcheck: "false" });
    const doc = el("textarea", { id: "new-policy-doc", rows: "10", spellcheck: "false" });
    doc.value = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::BUCKET/*" }] }, null, 2);
    main.append(createForm("create-policy", [field("New policy name", name), field("Policy document (JSON)", doc)], "Create policy", async () => {
      JSON.parse(doc.value);
      await iam("CreatePolicy", { PolicyName: name.value.trim(), PolicyDocument: doc.value }); route();
    }));
    const r = await iamAll("ListPolicies", { Scope: "Local" });
    main.append(simpleTable("policies", [{ t: "Name" }, { t: "ARN", opt: true }, { t: "Attachments", opt: true }, { t: "Actions" }],
      asList(r.Policies).map(p => [p.PolicyName, p.Arn, String(p.AttachmentCount), delButton("policy", p.PolicyName, () => iam("DeletePolicy", { PolicyArn: p.Arn }))])));
    h.focus();
  }

  // ---- start ----
  window.addEventListener("hashchange", route);
  api("session").then(s => { session = s; signedIn(); route(); }).catch(() => { showSignIn(); });
})();
