// cmed lamp board: keeps the server-rendered page live over server-sent
// events (/events). Builds DOM nodes with textContent only, never HTML
// strings, so labels from the config cannot inject markup. Mirrors the
// markup of board.html; the lamp element of a DN is #dn-<number> with
// data-state idle|ringing|inuse|hold|dnd|unknown.
"use strict";
(function () {
  function h(tag, attrs) {
    var el = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") el.textContent = attrs[k];
      else if (k === "class") el.className = attrs[k];
      else el.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }
  function lamp(id, state, cls) {
    var a = { class: "lamp" + (cls ? " " + cls : ""), "data-state": state, role: "img", "aria-label": state };
    if (id) a.id = id;
    return h("span", a);
  }

  var WORDS = { idle: "idle", ringing: "ringing", inuse: "in use", hold: "hold", dnd: "DND", unknown: "unknown" };
  function word(s) { return WORDS[s] || s; }

  function dnCard(d) {
    var owners = h("div", { class: "owners" });
    (d.owners || []).forEach(function (o) {
      owners.appendChild(h("span", { class: "owner", "data-registered": String(o.registered), "data-state": o.state },
        o.device, h("small", { text: "/" + o.button })));
    });
    if (!owners.childNodes.length) owners.appendChild(h("span", { class: "owner", "data-registered": "none", text: "no phone" }));
    return h("li", { class: "dn", id: "card-" + d.id, "data-state": d.state, title: d.key },
      lamp(d.id, d.state),
      h("div", { class: "dn-main" }, h("span", { class: "num", text: d.number }),
        h("span", { class: "label", text: d.label || d.name || "" }),
        d.status ? h("small", { class: "presence", title: "presence SIP watchers see", text: d.status }) : null),
      h("span", { class: "state", text: word(d.state) }),
      owners);
  }

  function deviceCard(d) {
    var buttons = h("ol", { class: "buttons" });
    (d.buttons || []).forEach(function (b) {
      buttons.appendChild(h("li", null, lamp(b.id, b.state), h("span", { class: "bidx", text: String(b.button) }),
        h("span", { class: "bname" }, h("span", { class: "bnum", text: b.number }),
          b.label ? " " : null, b.label ? h("span", { class: "blabel", text: b.label }) : null),
        h("span", { class: "detail", text: b.detail })));
    });
    var dials = null;
    if (d.speed_dials && d.speed_dials.length) {
      dials = h("ol", { class: "speeddials", "aria-label": "BLF speed dials" });
      d.speed_dials.forEach(function (s) {
        dials.appendChild(h("li", { class: "sd", "data-state": s.state }, lamp(s.id, s.state),
          h("span", { class: "bidx", text: String(s.tag) }),
          h("span", { class: "bname" }, h("span", { class: "sdlabel", text: s.label || s.number }), " ",
            h("span", { class: "sdnum", text: (s.device ? "D " : "") + s.number })),
          h("span", { class: "detail", text: word(s.state) })));
      });
    }
    return h("li", { class: "phone", id: d.id, "data-registered": String(d.registered), "data-state": d.state },
      h("div", { class: "phone-head" }, lamp(null, d.state), h("span", { class: "pname", text: d.name }),
        d.dnd ? h("span", { class: "badge", text: "DND" }) : null),
      h("div", { class: "meta", text: d.kind + " " + d.tag + " · " + d.protocol + " " + d.model + " · " +
        (d.registered ? (d.addr || "") : "unregistered") }),
      buttons, dials);
  }

  function subsTable(list) {
    if (!list || !list.length) return h("p", { class: "empty", text: "none" });
    var head = h("tr", null);
    [["ID", "opt"], ["Watcher"], ["Presentity"], ["Kind", "opt"], ["Lamp"]].forEach(function (c) {
      head.appendChild(h("th", c[1] ? { class: c[1], text: c[0] } : { text: c[0] }));
    });
    var body = h("tbody", null);
    list.forEach(function (s) {
      body.appendChild(h("tr", null, h("td", { class: "opt", text: String(s.id) }), h("td", { text: s.watcher }),
        h("td", { text: (s.device ? "D " : "") + s.presentity }), h("td", { class: "opt", text: s.kind }),
        h("td", null, lamp(null, s.state, "sm"), s.state)));
    });
    return h("table", { class: "subs" }, h("thead", null, head), body);
  }

  function fill(id, nodes) {
    var el = document.getElementById(id);
    while (el.firstChild) el.removeChild(el.firstChild);
    nodes.forEach(function (n) { el.appendChild(n); });
  }
  function replace(id, node) {
    var old = document.getElementById(id);
    if (old) old.replaceWith(node);
  }

  function snapshot(st) {
    document.getElementById("host").textContent = st.hostname;
    document.title = st.hostname + " · lamp board";
    fill("dns", (st.dns || []).map(dnCard));
    fill("phones", (st.devices || []).map(deviceCard));
    document.getElementById("dn-count").textContent = String((st.dns || []).length);
    document.getElementById("phone-count").textContent = String((st.devices || []).length);
    subs(st);
  }
  function subs(p) {
    fill("subs", [subsTable(p.subscriptions)]);
    fill("trunks", [subsTable(p.trunks)]);
  }

  var conn = document.getElementById("conn");
  function status(s) { conn.dataset.conn = s; conn.textContent = s; }

  if (!window.EventSource) { status("static"); return; }
  status("connecting");
  var es = new EventSource("/events");
  es.onopen = function () { status("live"); };
  es.onerror = function () { status(es.readyState === EventSource.CLOSED ? "offline" : "reconnecting"); };
  function on(name, fn) {
    es.addEventListener(name, function (ev) {
      try { fn(JSON.parse(ev.data)); } catch (e) { console.error(name, e); }
    });
  }
  on("snapshot", function (st) { status("live"); snapshot(st); });
  on("dn", function (d) { replace("card-" + d.id, dnCard(d)); });
  on("device", function (d) { replace(d.id, deviceCard(d)); });
  on("subs", subs);
})();
