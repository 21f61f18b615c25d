// Patchwave web UI: small progressive enhancements. Every page works
// without this script; it only makes filtering quicker and keeps the
// live view of a rollout current.
(function () {
  "use strict";

  // Live filtering of a table as you type in an input that names it with
  // data-filter-table. The server applies the same filter when the form is
  // submitted, so the result is the same with or without the script.
  document.querySelectorAll("input[data-filter-table]").forEach(function (input) {
    var table = document.getElementById(input.dataset.filterTable);
    var count = document.getElementById(input.dataset.filterCount);
    var empty = document.getElementById(input.dataset.filterEmpty);
    if (!table || !table.tBodies.length) {
      return;
    }
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var total = rows.length;
    var timer = 0;
    function apply() {
      var q = input.value.trim().toLowerCase();
      var shown = 0;
      rows.forEach(function (row) {
        var match = q === "" || (row.dataset.search || "").indexOf(q) !== -1;
        row.hidden = !match;
        if (match) {
          shown++;
        }
      });
      if (count) {
        count.textContent = "Showing " + shown + " of " + total + (total === 1 ? " package" : " packages");
      }
      if (empty) {
        empty.hidden = shown !== 0;
      }
      // Keep the address in step, so that the filtered view can be shared.
      var url = new URL(window.location.href);
      if (q === "") {
        url.searchParams.delete("pkg");
      } else {
        url.searchParams.set("pkg", input.value.trim());
      }
      window.history.replaceState(null, "", url);
    }
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(apply, total > 2000 ? 120 : 0);
    });
    input.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      apply();
    });
  });

  // Filter forms leave out empty fields, for short addresses that are
  // easy to read and share: /hosts?site=lyon rather than /hosts?q=&site=lyon&tier=...
  document.querySelectorAll("form[data-drop-empty]").forEach(function (form) {
    form.addEventListener("formdata", function (ev) {
      Array.from(ev.formData.keys()).forEach(function (k) {
        if (ev.formData.getAll(k).every(function (v) { return v === ""; })) {
          ev.formData.delete(k);
        }
      });
    });
  });

  // "/" focuses the page's first search box, as on many sites.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey) {
      return;
    }
    var t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) {
      return;
    }
    var box = document.querySelector("input[type=search]");
    if (box) {
      ev.preventDefault();
      box.focus();
      box.select();
    }
  });

  // The live view of a rollout: every few seconds (data-live-every), the
  // part marked with data-live-url is fetched again and swapped in, while
  // the tab is visible and nobody is typing into one of its forms. Without
  // the script the page is the same, only as of its loading.
  document.querySelectorAll("[data-live-url]").forEach(function (box) {
    var every = Math.max(parseInt(box.dataset.liveEvery, 10) || 10, 3) * 1000;
    var url = box.dataset.liveUrl;
    function busy() {
      var a = document.activeElement;
      if (a && a !== document.body && box.contains(a) && /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(a.tagName)) {
        return true;
      }
      return Array.prototype.some.call(box.querySelectorAll("input[type=text], textarea"), function (el) {
        return el.value !== el.defaultValue;
      }) || Array.prototype.some.call(box.querySelectorAll("input[type=checkbox]"), function (el) {
        return el.checked !== el.defaultChecked;
      });
    }
    function later() {
      window.setTimeout(refresh, every);
    }
    function refresh() {
      if (document.hidden || busy()) {
        later();
        return;
      }
      window.fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (resp) {
        // Sent to the sign-in page: the session ended; stop.
        if (resp.redirected) {
          return null;
        }
        if (!resp.ok) {
          throw new Error("live view: " + resp.status);
        }
        return resp.text();
      }).then(function (html) {
        var fresh = html && new DOMParser().parseFromString(html, "text/html").getElementById(box.id);
        if (!fresh) {
          return;
        }
        if (!busy()) {
          box.replaceChildren.apply(box, Array.prototype.map.call(fresh.childNodes, function (n) {
            return document.importNode(n, true);
          }));
        }
        // A finished rollout has nothing more to show.
        if (fresh.hasAttribute("data-live-url")) {
          later();
        }
      }).catch(later); // the server did not answer: try again later
    }
    later();
  });
})();
