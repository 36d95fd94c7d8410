// earshot's one script: keyboard shortcuts, live inbox, response clocks, the reply box.
// Every page works without it; it only makes the work faster. No dependencies.
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var page = document.body.getAttribute("data-page");

  function post(url, fields) {
    var body = new URLSearchParams(fields || {});
    body.set("csrf", csrf);
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Requested-With": "earshot", "X-CSRF-Token": csrf },
      body: body
    });
  }

  function typingInField(e) {
    var t = e.target;
    if (!t || !t.tagName) return false;
    var tag = t.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || t.isContentEditable;
  }

  // ---- Times and response clocks -------------------------------------------------------

  function human(secs) {
    secs = Math.abs(Math.round(secs));
    var d = Math.floor(secs / 86400), h = Math.floor((secs % 86400) / 3600), m = Math.floor((secs % 3600) / 60);
    if (d > 0) return d + " d " + h + " h";
    if (h > 0) return h + " h " + (m < 10 ? "0" : "") + m + " min";
    if (m > 0) return m + " min";
    return secs + " s";
  }

  function tickClocks(root) {
    var now = Date.now();
    (root || document).querySelectorAll(".clock[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      var since = Date.parse(el.getAttribute("data-since") || "") || due;
      if (isNaN(due)) return;
      var left = (due - now) / 1000, windowSecs = Math.max(1, (due - since) / 1000);
      var state = left < 0 ? "overdue" : (left * 4 < windowSecs || left < 900) ? "amber" : "ok";
      // One waiting time (calendar, since the customer's unanswered post), then the target.
      var waited = "waiting " + human(Math.max(0, (now - since) / 1000));
      el.textContent = waited + (left < 0 ? " · past target" : " · " + human(left) + " left");
      el.className = "badge clock b-clock-" + state;
    });
  }

  function localTimes(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.textContent = d.toLocaleString([], { month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit" });
    });
  }

  tickClocks();
  localTimes();
  setInterval(tickClocks, 30000);

  // ---- Help and global keys ------------------------------------------------------------

  var help = document.createElement("div");
  help.className = "help";
  help.hidden = true;
  help.setAttribute("role", "dialog");
  help.setAttribute("aria-modal", "true");
  help.setAttribute("aria-label", "Keyboard shortcuts");
  help.innerHTML =
    '<div class="help-box"><h2>Keyboard shortcuts</h2><dl>' +
    "<dt><kbd>j</kbd> / <kbd>k</kbd></dt><dd>next / previous conversation</dd>" +
    "<dt><kbd>enter</kbd></dt><dd>open the selected conversation</dd>" +
    "<dt><kbd>a</kbd></dt><dd>assign to me</dd>" +
    "<dt><kbd>r</kbd></dt><dd>reply</dd>" +
    "<dt><kbd>ctrl</kbd>+<kbd>enter</kbd></dt><dd>send the reply</dd>" +
    "<dt><kbd>e</kbd></dt><dd>resolve</dd>" +
    "<dt><kbd>j</kbd> / <kbd>k</kbd> in a conversation</dt><dd>pick a customer's post</dd>" +
    "<dt><kbd>i</kbd> / <kbd>s</kbd> / <kbd>l</kbd> then <kbd>1</kbd>…<kbd>0</kbd></dt><dd>correct its intent / sentiment / language</dd>" +
    "<dt><kbd>u</kbd></dt><dd>back to the inbox</dd>" +
    "<dt><kbd>/</kbd></dt><dd>search</dd>" +
    "<dt><kbd>g</kbd> <kbd>i</kbd> / <kbd>d</kbd> / <kbd>r</kbd> / <kbd>p</kbd> / <kbd>s</kbd></dt><dd>go to inbox / dashboard / requests / promises / settings</dd>" +
    "<dt><kbd>?</kbd></dt><dd>this help (esc closes)</dd></dl></div>";
  document.body.appendChild(help);
  help.addEventListener("click", function () { help.hidden = true; });

  var pendingG = false;
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape" && !help.hidden) { help.hidden = true; return; }
    if (typingInField(e)) return;
    if (pendingG) {
      pendingG = false;
      var to = { i: "/inbox", d: "/dashboard", r: "/requests", p: "/promises", s: "/settings" }[e.key];
      if (to) { e.preventDefault(); location.href = to; return; }
    }
    if (e.key === "g") { pendingG = true; setTimeout(function () { pendingG = false; }, 1000); return; }
    if (e.key === "?") { e.preventDefault(); help.hidden = !help.hidden; return; }
    if (e.key === "/") {
      var box = document.getElementById("q") || document.getElementById("top-q");
      if (box) { e.preventDefault(); box.focus(); box.select(); }
    }
  });

  // ---- Inbox ---------------------------------------------------------------------------

  var wrap = document.getElementById("rows-wrap");
  if (wrap) {
    var selectedId = null;

    var rows = function () { return Array.prototype.slice.call(wrap.querySelectorAll("li.row")); };

    var select = function (row, focus) {
      rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-current"); });
      if (!row) { selectedId = null; return; }
      row.classList.add("selected");
      row.setAttribute("aria-current", "true");
      selectedId = row.getAttribute("data-id");
      if (focus !== false) {
        var link = row.querySelector("a.row-link");
        if (link) link.focus({ preventScroll: true });
        row.scrollIntoView({ block: "nearest" });
      }
    };

    var current = function () {
      return rows().filter(function (r) { return r.getAttribute("data-id") === selectedId; })[0] || null;
    };

    var move = function (by) {
      var all = rows();
      if (!all.length) return;
      var i = all.indexOf(current());
      i = i < 0 ? 0 : Math.max(0, Math.min(all.length - 1, i + by));
      select(all[i]);
    };

    wrap.addEventListener("focusin", function (e) {
      var row = e.target.closest && e.target.closest("li.row");
      if (row && row.getAttribute("data-id") !== selectedId) select(row, false);
    });

    var refreshTimer = null;
    var refresh = function () {
      var query = wrap.getAttribute("data-query") || "";
      var offset = new URLSearchParams(location.search).get("offset");
      var url = "/inbox?" + query + (query ? "&" : "") + (offset ? "offset=" + encodeURIComponent(offset) + "&" : "") + "fragment=rows";
      var before = {};
      rows().forEach(function (r) { before[r.getAttribute("data-id")] = true; });
      var hadFocus = wrap.contains(document.activeElement);
      return fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); return null; }
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html === null || html === undefined) return;
        // The server rendered (and escaped) this markup, exactly as in a full page.
        wrap.innerHTML = html;
        rows().forEach(function (r) { if (!before[r.getAttribute("data-id")]) r.classList.add("fresh"); });
        tickClocks(wrap);
        localTimes(wrap);
        var again = current();
        if (again) select(again, hadFocus);
        var n = rows().length;
        var count = document.querySelector(".inbox-head .count");
        if (count) count.textContent = n + (n === 50 ? "+" : "") + " conversations";
      });
    };
    var scheduleRefresh = function () {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(refresh, 250);
    };

    var act = function (action) {
      var row = current();
      if (!row) return;
      post("/c/" + row.getAttribute("data-id") + "/act", { action: action }).then(function (r) {
        if (!r.ok) return r.text().then(function (t) { alert(t || "That did not work."); });
        if (action === "resolve") { var next = row.nextElementSibling || row.previousElementSibling; if (next) selectedId = next.getAttribute("data-id"); }
        return refresh();
      });
    };

    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || typingInField(e)) return;
      switch (e.key) {
        case "j": e.preventDefault(); move(1); break;
        case "k": e.preventDefault(); move(-1); break;
        case "Enter":
          var row = current();
          if (row && document.activeElement === document.body) { e.preventDefault(); location.href = "/c/" + row.getAttribute("data-id"); }
          break;
        case "a": e.preventDefault(); act("assign_me"); break;
        case "e": e.preventDefault(); act("resolve"); break;
        case "r":
          var r = current();
          if (r) { e.preventDefault(); location.href = "/c/" + r.getAttribute("data-id") + "#reply"; }
          break;
      }
    });

    if (window.EventSource) {
      var live = document.getElementById("live");
      var source = new EventSource("/live");
      source.addEventListener("open", function () { if (live) { live.classList.add("on"); live.textContent = "● live"; } });
      source.addEventListener("error", function () { if (live) { live.classList.remove("on"); live.textContent = "○ reconnecting"; } });
      ["post_stored", "conversation_changed", "lagged"].forEach(function (name) {
        source.addEventListener(name, scheduleRefresh);
      });
      window.addEventListener("beforeunload", function () { source.close(); });
    }
    window.earshotRefresh = refresh;
  }

  // ---- Conversation --------------------------------------------------------------------

  var form = document.getElementById("reply-form");
  var conv = document.querySelector("[data-conversation]");
  if (conv) {
    var convId = conv.getAttribute("data-conversation");
    var textarea = document.getElementById("reply");
    var clickAction = function (action) {
      var b = document.querySelector('button[data-action="' + action + '"]');
      if (b) b.click();
    };
    // Correcting a post's labels: j/k pick a customer post (the latest when none is picked),
    // i / s / l open its intent / sentiment / language chooser, a digit picks a label (Tab and
    // Enter reach any), esc closes. The server draws the corrected post; it replaces the old.
    var fieldKeys = { i: "intent", s: "sentiment", l: "language" };
    var picked = null, choosing = null;
    var said = document.createElement("div");
    said.className = "visually-hidden";
    said.setAttribute("role", "status");
    conv.appendChild(said);
    var customerPosts = function () { return Array.prototype.slice.call(conv.querySelectorAll("li.post[data-post]")); };
    var pickedPost = function () {
      var all = customerPosts();
      return all.filter(function (p) { return p.getAttribute("data-post") === picked; })[0] || all[all.length - 1] || null;
    };
    var pick = function (p) {
      customerPosts().forEach(function (x) { x.classList.remove("selected"); x.removeAttribute("aria-current"); });
      if (!p) return;
      picked = p.getAttribute("data-post");
      p.classList.add("selected");
      p.setAttribute("aria-current", "true");
      p.focus({ preventScroll: true });
      p.scrollIntoView({ block: "nearest" });
    };
    var movePost = function (by) {
      var all = customerPosts();
      if (!all.length) return;
      var i = all.indexOf(all.filter(function (p) { return p.getAttribute("data-post") === picked; })[0]);
      i = i < 0 ? (by > 0 ? 0 : all.length - 1) : Math.max(0, Math.min(all.length - 1, i + by));
      pick(all[i]);
    };
    var closeChooser = function () {
      if (!choosing) return;
      var d = choosing.closest("details");
      if (d) d.open = false;
      choosing.classList.remove("active");
      choosing = null;
    };
    var openChooser = function (field) {
      var p = pickedPost();
      if (!p) return;
      var chooser = p.querySelector('form.chooser[data-field="' + field + '"]');
      if (!chooser) return;
      closeChooser();
      pick(p);
      var d = chooser.closest("details");
      if (d) d.open = true;
      chooser.classList.add("active");
      choosing = chooser;
      var b = chooser.querySelector('button[aria-pressed="true"]') || chooser.querySelector("button");
      if (b) b.focus();
    };
    conv.addEventListener("click", function (e) {
      var p = e.target.closest ? e.target.closest("li.post[data-post]") : null;
      if (p && p.getAttribute("data-post") !== picked) pick(p);
    });
    conv.addEventListener("submit", function (e) {
      var chooser = e.target;
      if (!chooser.classList || !chooser.classList.contains("chooser")) return;
      var b = e.submitter;
      if (!b || !b.value) return;
      e.preventDefault();
      var field = chooser.getAttribute("data-field");
      post(chooser.getAttribute("action"), { field: field, value: b.value }).then(function (r) {
        if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return; }
        return r.text().then(function (html) {
          if (!r.ok) { alert(html || "That did not work."); return; }
          var li = chooser.closest("li.post");
          var holder = document.createElement("ol");
          // The server rendered (and escaped) this markup, exactly as in a full page.
          holder.innerHTML = html;
          var fresh = holder.firstElementChild;
          if (!li || !fresh) return;
          choosing = null;
          li.replaceWith(fresh);
          // A re-ranked conversation's rank line and band come after the post.
          Array.prototype.slice.call(holder.children).forEach(function (el) {
            var old = el.id && document.getElementById(el.id);
            if (old) old.replaceWith(el);
          });
          localTimes(fresh);
          pick(fresh);
          said.textContent = field + " corrected to " + b.value.replace(/_/g, " ");
        });
      });
    });

    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || typingInField(e)) return;
      if (choosing) {
        if (e.key === "Escape") {
          e.preventDefault();
          var open = choosing.closest("li.post");
          closeChooser();
          if (open) open.focus();
          return;
        }
        if (/^[0-9]$/.test(e.key)) {
          var b = choosing.querySelector('button[data-n="' + e.key + '"]');
          if (b) { e.preventDefault(); choosing.requestSubmit(b); }
          return;
        }
        if (!fieldKeys[e.key]) closeChooser();
      }
      if (fieldKeys[e.key]) { e.preventDefault(); openChooser(fieldKeys[e.key]); }
      else if (e.key === "j") { e.preventDefault(); movePost(1); }
      else if (e.key === "k") { e.preventDefault(); movePost(-1); }
      else if (e.key === "r" && textarea) { e.preventDefault(); textarea.focus(); }
      else if (e.key === "d" && textarea) { e.preventDefault(); fillDraft(); }
      else if (e.key === "e") { e.preventDefault(); clickAction("resolve"); }
      else if (e.key === "a") { e.preventDefault(); clickAction("assign_me"); }
      else if (e.key === "u" || e.key === "Escape") { e.preventDefault(); location.href = "/inbox"; }
    });

    // A reply that was not sent: its text goes to the clipboard to post by hand.
    conv.addEventListener("click", function (e) {
      var b = e.target.closest ? e.target.closest("button[data-copy]") : null;
      if (!b) return;
      var el = document.getElementById(b.getAttribute("data-copy"));
      if (!el || !navigator.clipboard) return;
      navigator.clipboard.writeText(el.textContent).then(function () { b.textContent = "Copied"; });
    });

    if (form && textarea) {
      var limit = parseInt(form.getAttribute("data-limit"), 10) || 0;
      var counter = document.getElementById("reply-count");
      var update = function () {
        var n = Array.from(textarea.value.trim()).length;
        counter.textContent = n + " / " + limit + (n > limit ? " — " + (n - limit) + " too many" : "");
        counter.classList.toggle("over", n > limit);
      };
      textarea.addEventListener("input", update);
      update();

      // A first draft from the brand's past answers: fills the box, shows its sources; the
      // agent edits and sends. Text goes in with textContent/value only, never as markup.
      var fillDraft = function () {
        var from = document.getElementById("draft-from");
        if (!from) {
          from = document.createElement("div");
          from.id = "draft-from";
          from.className = "draft-from muted";
          from.setAttribute("role", "status");
          form.appendChild(from);
        }
        from.textContent = "Drafting…";
        fetch("/c/" + convId + "/draft", { credentials: "same-origin", headers: { accept: "application/json" } })
          .then(function (r) {
            if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return null; }
            return r.ok ? r.json() : null;
          })
          .then(function (v) {
            if (!v) { from.textContent = "No draft: the server did not answer."; return; }
            if (!v.draft) { from.textContent = "No draft: none of " + v.past_answers + " past answers is to a similar post."; return; }
            var d = v.draft;
            textarea.value = d.text;
            update();
            textarea.focus();
            from.textContent = "";
            var head = document.createElement("p");
            head.textContent = "Draft from the brand's past answers (" + v.past_answers + " indexed" +
              (d.same_language ? ", in the customer's language" : "") + (d.shortened ? ", shortened to fit" : "") + "). Edit before sending.";
            from.appendChild(head);
            if (d.commitment) {
              var warn = document.createElement("p");
              warn.className = "draft-commits";
              warn.textContent = "This draft commits the brand (" + d.commitment.kind.replace(/_/g, " ") + "): “" + d.commitment.evidence + "”. Send it only if it is true here.";
              from.appendChild(warn);
            }
            var list = document.createElement("ol");
            d.sources.slice(0, 5).forEach(function (s) {
              var li = document.createElement("li");
              li.textContent = (s.used ? "used · " : "") + Math.round(s.similarity * 100) + "% alike · " + s.id + " — asked “" + s.asked + "” → “" + s.answer.replace(/\{name\}/g, "[name]") + "”";
              list.appendChild(li);
            });
            from.appendChild(list);
          })
          .catch(function () { from.textContent = "No draft: the server did not answer."; });
      };

      var template = document.getElementById("template");
      if (template) {
        template.addEventListener("change", function () {
          if (!template.value) return;
          textarea.value = template.value.replace(/\{name\}/g, form.getAttribute("data-name") || "there");
          template.value = "";
          update();
          textarea.focus();
        });
      }

      textarea.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
        if (e.key === "Escape") textarea.blur();
      });
      form.addEventListener("submit", function () {
        var b = form.querySelector('button[type="submit"]');
        if (b) { b.disabled = true; b.textContent = "Sending…"; }
      });

      var presence = document.getElementById("presence");
      var show = function (data) {
        if (!presence || !data) return;
        var others = data.others || [];
        presence.hidden = others.length === 0;
        presence.textContent = others.length ? others.join(", ") + (others.length > 1 ? " are" : " is") + " replying to this conversation right now." : "";
      };
      var lastTyping = 0;
      var report = function (active) {
        return post("/c/" + convId + "/typing", { active: active ? "1" : "0" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(show)
          .catch(function () {});
      };
      textarea.addEventListener("input", function () {
        var now = Date.now();
        if (now - lastTyping > 5000) { lastTyping = now; report(true); }
      });
      setInterval(function () { report(Date.now() - lastTyping < 15000); }, 8000);

      if (location.hash === "#reply") textarea.focus();
    }
  }
})();
