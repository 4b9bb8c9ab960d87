// Cohort console: a client of the native API and nothing more. Every list, form and button
// calls /api/v1; what may be done is asked of the API (`POST /api/v1/check` for the signed-in
// user), and a refusal is shown as the API words it. The page holds no rule of its own.
// Plain modules and the DOM: no framework, no build, nothing fetched from elsewhere.

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const status = document.getElementById("status");
const store = window.sessionStorage;

/// A refusal or failure of the API, in its words.
class ApiError extends Error {
  constructor(status, body) {
    const words = (body && (body.message || body.detail)) || `the server answered ${status}`;
    const field = body && body.field ? ` (${body.field})` : "";
    super(`${words}${field}`);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = store.getItem("token");
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (res.status === 401 && token) {
    signOut();
    throw new ApiError(401, { message: "your session ended; sign in again" });
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

/// Builds an element: h("button", {type: "submit", onclick}, "Save").
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function say(text, kind = "ok") {
  status.replaceChildren(h("span", { class: kind }, text));
}

/// Runs an action from a form or button: the API's refusal is said in words, beside it.
async function act(where, fn) {
  const out = where.querySelector(":scope > .outcome") || where.appendChild(h("p", { class: "outcome", role: "alert" }));
  out.replaceChildren();
  try {
    await fn();
  } catch (e) {
    out.replaceChildren(h("span", { class: "error" }, e.message));
    say(e.message, "error");
    return false;
  }
  return true;
}

function field(label, input) {
  return h("label", {}, label, input);
}

function table(headers, rows) {
  return h("table", {}, h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))), h("tbody", {}, rows));
}

const me = () => JSON.parse(store.getItem("me") || "null");

function signOut() {
  store.removeItem("token");
  store.removeItem("me");
  nav.hidden = true;
  location.hash = "#/sign-in";
  route();
}

/// Whether the signed-in user may do `action` in a group, as the API answers it.
async function may(groupId, action) {
  const user = me();
  if (!user) return false;
  try {
    const d = await api("POST", "/api/v1/check", { user_id: user.id, group_id: groupId, action });
    return d.allowed === true;
  } catch {
    return false;
  }
}

// ---- views ----

function signInView() {
  nav.hidden = true;
  const login = h("input", { name: "login", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { "aria-label": "Sign in" }, field("Username or email", login), field("Password", password), h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(form, async () => {
      const t = await api("POST", "/api/v1/auth/token", { login: login.value, password: password.value });
      store.setItem("token", t.token);
      store.setItem("me", JSON.stringify(t.user));
      location.hash = "#/groups";
    });
  });
  return [h("h1", {}, "Sign in"), form];
}

async function spacesView() {
  const list = await api("GET", "/api/v1/spaces?per_page=100");
  const name = h("input", { name: "name", required: true });
  const form = h("form", { "aria-label": "New space" }, field("Name", name), h("button", { type: "submit" }, "Create space"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(form, async () => {
      await api("POST", "/api/v1/spaces", { name: name.value });
      say(`Space ${name.value} created`);
      route();
    });
  });
  const rows = list.spaces.map((s) => h("tr", {}, h("td", {}, h("a", { href: `#/groups?space=${s.id}` }, s.name)), h("td", { class: "muted" }, s.id), h("td", {}, s.description || "")));
  return [h("h1", {}, "Spaces"), table(["Name", "Id", "Description"], rows), h("h2", {}, "New space"), form];
}

async function groupsView(params) {
  const space = params.get("space") || "";
  const filter = params.get("filter") || "";
  const search = params.get("search") || "";
  const q = new URLSearchParams({ per_page: "100" });
  if (space) q.set("space", space);
  if (filter) q.set("filter", filter);
  if (search) q.set("search", search);
  const [list, spaces, fields] = await Promise.all([
    api("GET", `/api/v1/groups?${q}`),
    api("GET", "/api/v1/spaces?per_page=100"),
    api("GET", "/api/v1/filters/groups").catch(() => null),
  ]);
  // The tree: each group under its parent when the parent is listed too.
  const byParent = new Map();
  const ids = new Set(list.groups.map((g) => g.id));
  for (const g of list.groups) {
    const key = g.parent_id && ids.has(g.parent_id) ? g.parent_id : "";
    if (!byParent.has(key)) byParent.set(key, []);
    byParent.get(key).push(g);
  }
  const branch = (parent) =>
    h("ul", {}, (byParent.get(parent) || []).map((g) => {
      const kids = byParent.has(g.id);
      const link = h("a", { href: `#/group/${g.id}` }, g.name);
      const note = h("span", { class: "muted" }, ` ${g.visibility}, ${g.member_count} members`);
      return h("li", {}, kids ? h("details", { open: true }, h("summary", {}, link, note), branch(g.id)) : [link, note]);
    }));
  const searchBox = h("input", { name: "search", type: "search", value: search });
  const filterBox = h("input", { name: "filter", value: filter, placeholder: "type = 'team' && name ~ 'eng'" });
  const spaceSelect = h("select", { name: "space" }, h("option", { value: "" }, "Every space"), spaces.spaces.map((s) => h("option", { value: s.id, selected: s.id === space }, s.name)));
  const find = h("form", { role: "search", "aria-label": "Find groups" }, field("Search", searchBox), field("Filter", filterBox), field("Space", spaceSelect), h("button", { type: "submit" }, "Find"));
  find.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    if (spaceSelect.value) p.set("space", spaceSelect.value);
    if (filterBox.value) p.set("filter", filterBox.value);
    if (searchBox.value) p.set("search", searchBox.value);
    location.hash = `#/groups?${p}`;
  });
  const offered = fields && fields.fields ? h("p", { class: "muted" }, "Filter fields: ", fields.fields.map((f) => f.name || f).join(", ")) : null;
  const name = h("input", { name: "name", required: true });
  const inSpace = h("select", { name: "space_id" }, spaces.spaces.map((s) => h("option", { value: s.id, selected: s.id === space }, s.name)));
  const visibility = h("select", { name: "visibility" }, ["public", "private"].map((v) => h("option", { value: v }, v)));
  const create = h("form", { "aria-label": "New group" }, field("Name", name), field("Space", inSpace), field("Visibility", visibility), h("button", { type: "submit" }, "Create group"));
  create.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(create, async () => {
      const g = await api("POST", "/api/v1/groups", { name: name.value, space_id: inSpace.value, visibility: visibility.value });
      location.hash = `#/group/${g.id}`;
    });
  });
  return [h("h1", {}, "Groups"), find, offered, h("div", { class: "tree" }, list.groups.length ? branch("") : h("p", {}, "No group matches.")), h("h2", {}, "New group"), create];
}

const ROLES = ["member", "moderator", "admin", "owner"];

/// A collection grant's level in words.
const level = (c) => (c.manage ? "manage" : c.read_only ? "read only" : "read and write") + (c.hide_passwords ? ", passwords hidden" : "");

async function groupView(id) {
  const [g, perms, members, canMembers, canSettings] = await Promise.all([
    api("GET", `/api/v1/groups/${id}`),
    api("GET", `/api/v1/groups/${id}/permissions`).catch(() => null),
    api("GET", `/api/v1/groups/${id}/members?per_page=100`),
    may(id, "manage_members"),
    may(id, "manage_settings"),
  ]);
  const [requests, invitations, roles, periods] = await Promise.all([
    canMembers ? api("GET", `/api/v1/groups/${id}/join-requests?status=pending`).catch(() => ({ requests: [] })) : { requests: [] },
    canMembers ? api("GET", `/api/v1/groups/${id}/invitations?per_page=100`).catch(() => ({ invitations: [] })) : { invitations: [] },
    api("GET", `/api/v1/groups/${id}/roles`).catch(() => ({ roles: [] })),
    Promise.all(["7d", "30d", "90d"].map((p) => api("GET", `/api/v1/groups/${id}/analytics?period=${p}`).catch(() => null))),
  ]);
  const off = (allowed) => (allowed ? undefined : true);
  const why = (allowed) => (allowed ? null : h("p", { class: "muted" }, "You may not change this (the API decides who may)."));

  const settings = table(["Setting", "Value"], [
    ["Id", g.id], ["Space", g.space_id], ["Parent", g.parent_id || "—"], ["Type", g.type], ["Visibility", g.visibility],
    ["Inherits members", String(g.inherit_members)], ["Inherits permissions", String(g.inherit_permissions)], ["Members", String(g.member_count)],
    ["Collections", (g.collections || []).map((c) => `${c.id} (${level(c)})`).join("; ") || "—"],
  ].map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v))));

  const desc = h("input", { name: "description", value: g.description || "", disabled: off(canSettings) });
  const vis = h("select", { name: "visibility", disabled: off(canSettings) }, ["public", "private"].map((v) => h("option", { value: v, selected: v === g.visibility }, v)));
  const inhM = h("input", { type: "checkbox", name: "inherit_members", checked: g.inherit_members, disabled: off(canSettings) });
  const inhP = h("input", { type: "checkbox", name: "inherit_permissions", checked: g.inherit_permissions, disabled: off(canSettings) });
  const edit = h("form", { "aria-label": "Group settings" }, field("Description", desc), field("Visibility", vis), field("Inherits members", inhM), field("Inherits permissions", inhP), h("button", { type: "submit", disabled: off(canSettings) }, "Save settings"));
  edit.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(edit, async () => {
      await api("PATCH", `/api/v1/groups/${id}`, { description: desc.value || null, visibility: vis.value, inherit_members: inhM.checked, inherit_permissions: inhP.checked });
      say("Settings saved");
      route();
    });
  });

  const permRows = (perms && perms.permissions ? perms.permissions : []).map((p) =>
    h("tr", {}, h("td", {}, p.permission), h("td", {}, p.inherited_from ? h("a", { href: `#/group/${p.inherited_from}` }, `inherited from ${p.inherited_from}`) : "own")));

  const memberRows = members.members.map((m) => {
    const role = h("select", { "aria-label": `Role of ${m.user?.username || m.user_id}`, disabled: off(canMembers) }, ROLES.map((r) => h("option", { value: r, selected: r === m.role }, r)));
    const row = h("tr", {});
    role.addEventListener("change", () => act(row.cells[3], async () => {
      await api("PATCH", `/api/v1/groups/${id}/members/${m.user_id}`, { role: role.value });
      say(`Role changed to ${role.value}`);
    }));
    const suspend = h("button", { type: "button", class: "secondary", disabled: off(canMembers) }, m.status === "suspended" ? "Reinstate" : "Suspend");
    suspend.addEventListener("click", () => act(row.cells[3], async () => {
      await api("PATCH", `/api/v1/groups/${id}/members/${m.user_id}`, { status: m.status === "suspended" ? "active" : "suspended" });
      route();
    }));
    const remove = h("button", { type: "button", class: "secondary", disabled: off(canMembers) }, "Remove");
    remove.addEventListener("click", () => act(row.cells[3], async () => {
      await api("DELETE", `/api/v1/groups/${id}/members/${m.user_id}`);
      route();
    }));
    row.append(
      h("td", {}, h("a", { href: `#/user/${m.user_id}` }, m.user?.username || m.user_id)),
      h("td", {}, role),
      h("td", {}, m.status),
      h("td", {}, suspend, " ", remove),
    );
    return row;
  });

  const who = h("textarea", { name: "users", rows: 2, placeholder: "user ids, usernames or emails, one a line", disabled: off(canMembers) });
  const newRole = h("select", { name: "role", disabled: off(canMembers) }, ROLES.map((r) => h("option", { value: r }, r)));
  const add = h("form", { "aria-label": "Add members" }, field("Users", who), field("Role", newRole), h("button", { type: "submit", disabled: off(canMembers) }, "Add"));
  add.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(add, async () => {
      const names = who.value.split(/[\s,]+/).filter(Boolean);
      const ids = [];
      for (const n of names) {
        if (n.startsWith("usr_")) { ids.push(n); continue; }
        const found = await api("GET", `/api/v1/users?search=${encodeURIComponent(n)}&per_page=10`);
        const u = found.users.find((x) => x.username === n || x.email === n);
        if (!u) throw new ApiError(404, { message: `no user ${n}` });
        ids.push(u.id);
      }
      const r = await api("POST", `/api/v1/groups/${id}/members/bulk`, { members: ids.map((u) => ({ user_id: u, role: newRole.value })) });
      const failed = Array.isArray(r.failed) ? r.failed.length : r.failed || 0;
      say(failed ? `${failed} could not be added` : `${ids.length} added`, failed ? "error" : "ok");
      route();
    });
  });

  const reqRows = requests.requests.map((r) => {
    const row = h("tr", {});
    const decide = (action) => act(row.cells[2], async () => {
      await api("PATCH", `/api/v1/groups/${id}/join-requests/${r.id}`, { action });
      say(`Request ${action === "approve" ? "approved" : "rejected"}`);
      route();
    });
    row.append(
      h("td", {}, r.user?.username || r.user_id),
      h("td", {}, r.message || ""),
      h("td", {}, h("button", { type: "button", onclick: () => decide("approve") }, "Approve"), " ", h("button", { type: "button", class: "secondary", onclick: () => decide("reject") }, "Reject")),
    );
    return row;
  });

  const invRows = invitations.invitations.map((i) => {
    const row = h("tr", {});
    const resend = h("button", { type: "button", class: "secondary", disabled: off(i.status === "sent" && !!i.email) }, "Resend");
    resend.addEventListener("click", () => act(row.cells[4], async () => {
      await api("POST", `/api/v1/groups/${id}/invitations/${i.id}/resend`);
      say(`Invitation to ${i.email} sent again`);
      route();
    }));
    const revoke = h("button", { type: "button", class: "secondary", disabled: off(i.status === "sent") }, "Revoke");
    revoke.addEventListener("click", () => act(row.cells[4], async () => {
      await api("DELETE", `/api/v1/groups/${id}/invitations/${i.id}`);
      route();
    }));
    row.append(h("td", {}, i.email || i.user_id), h("td", {}, i.role), h("td", {}, i.status), h("td", {}, i.mail ? i.mail.status : "—"), h("td", {}, resend, " ", revoke));
    return row;
  });
  const inviteTo = h("input", { name: "emails", placeholder: "someone@example.com, …", disabled: off(canMembers) });
  const inviteRole = h("select", { name: "role", disabled: off(canMembers) }, ROLES.filter((r) => r !== "owner").map((r) => h("option", { value: r }, r)));
  const invite = h("form", { "aria-label": "Invite" }, field("Emails", inviteTo), field("Role", inviteRole), h("button", { type: "submit", disabled: off(canMembers) }, "Send invitations"));
  invite.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(invite, async () => {
      const emails = inviteTo.value.split(/[\s,]+/).filter(Boolean);
      const r = await api("POST", `/api/v1/groups/${id}/invitations`, { emails, role: inviteRole.value, notify: true });
      say(r.failed ? `${r.failed} could not be invited` : `${r.sent} invited`, r.failed ? "error" : "ok");
      route();
    });
  });

  const roleRows = roles.roles.map((r) => h("tr", {}, h("td", {}, r.name), h("td", {}, r.builtin ? "built in" : "custom"), h("td", {}, (r.permissions || []).join(", ")), h("td", {}, String(r.member_count ?? ""))));
  const roleName = h("input", { name: "name", required: true, disabled: off(canSettings) });
  const rolePerms = h("input", { name: "permissions", placeholder: "read, write", disabled: off(canSettings) });
  const newRoleForm = h("form", { "aria-label": "New role" }, field("Name", roleName), field("Permissions", rolePerms), h("button", { type: "submit", disabled: off(canSettings) }, "Create role"));
  newRoleForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(newRoleForm, async () => {
      await api("POST", `/api/v1/groups/${id}/roles`, { name: roleName.value, permissions: rolePerms.value.split(/[\s,]+/).filter(Boolean) });
      route();
    });
  });

  const subName = h("input", { name: "name", required: true, disabled: off(canSettings) });
  const inherit = h("input", { type: "checkbox", name: "inherit_permissions", checked: true, disabled: off(canSettings) });
  const sub = h("form", { "aria-label": "New subgroup" }, field("Name", subName), field("Inherits permissions", inherit), h("button", { type: "submit", disabled: off(canSettings) }, "Create subgroup"));
  sub.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(sub, async () => {
      const s = await api("POST", `/api/v1/groups/${id}/subgroups`, { name: subName.value, inherit_permissions: inherit.checked });
      location.hash = `#/group/${s.id}`;
    });
  });

  return [
    h("p", {}, h("a", { href: "#/groups" }, "Groups"), g.parent_id ? [" › ", h("a", { href: `#/group/${g.parent_id}` }, "parent")] : null),
    h("h1", {}, g.name),
    g.description ? h("p", {}, g.description) : null,
    h("h2", {}, "Settings"), settings, edit,
    h("h2", {}, "Permissions"), permRows.length ? table(["Permission", "From"], permRows) : h("p", { class: "muted" }, "None."),
    h("h2", {}, "Members"), table(["User", "Role", "Status", ""], memberRows), why(canMembers), add,
    canMembers ? [h("h2", {}, "Join requests"), reqRows.length ? table(["User", "Message", ""], reqRows) : h("p", { class: "muted" }, "None pending.")] : null,
    canMembers ? [h("h2", {}, "Invitations"), invRows.length ? table(["Invitee", "Role", "Status", "Mail", ""], invRows) : h("p", { class: "muted" }, "None."), invite] : null,
    h("h2", {}, "Roles"), table(["Role", "Kind", "Permissions", "Members"], roleRows), why(canSettings), newRoleForm,
    h("h2", {}, "Analytics"), charts(periods),
    h("h2", {}, "Subgroups"), why(canSettings), sub,
  ];
}

const SVG = "http://www.w3.org/2000/svg";

/// A bar chart (inline SVG) of `bars`: [label, value]; titled for screen readers.
function barChart(title, bars, unit = "") {
  const max = Math.max(1, ...bars.map(([, v]) => v));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 300 120");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${title}: ${bars.map(([l, v]) => `${l} ${v}${unit}`).join(", ")}`);
  svg.setAttribute("width", "300");
  bars.forEach(([label, value], i) => {
    const height = Math.round((value / max) * 80);
    const x = 20 + i * 95;
    const rect = document.createElementNS(SVG, "rect");
    Object.entries({ x, y: 95 - height, width: 60, height, fill: "#0b57d0" }).forEach(([k, v]) => rect.setAttribute(k, v));
    const text = document.createElementNS(SVG, "text");
    Object.entries({ x: x + 30, y: 112, "text-anchor": "middle", "font-size": "11" }).forEach(([k, v]) => text.setAttribute(k, v));
    text.textContent = `${label}: ${value}${unit}`;
    svg.append(rect, text);
  });
  return h("figure", {}, h("figcaption", {}, title), svg);
}

/// Member growth, activity and engagement over 7, 30 and 90 days.
function charts(periods) {
  const shown = periods.map((a, i) => [["7 days", "30 days", "90 days"][i], a && a.analytics]).filter(([, a]) => a);
  if (!shown.length) return h("p", { class: "muted" }, "No analytics.");
  return h("div", { class: "charts" },
    barChart("Members", shown.map(([l, a]) => [l, a.member_growth.current])),
    barChart("Growth", shown.map(([l, a]) => [l, Math.round(a.member_growth.growth_rate * 100)]), "%"),
    barChart("Messages", shown.map(([l, a]) => [l, a.activity.messages_sent])),
    barChart("Engagement", shown.map(([l, a]) => [l, Math.round(a.engagement.engagement_rate * 100)]), "%"));
}

async function userView(id) {
  const [u, groups, perms, collections] = await Promise.all([
    api("GET", `/api/v1/users/${id}`),
    api("GET", `/api/v1/users/${id}/groups?effective=true`),
    api("GET", `/api/v1/users/${id}/permissions`),
    api("GET", `/api/v1/users/${id}/collections`).catch(() => ({ collections: [] })),
  ]);
  const names = new Map(groups.groups.map((g) => [g.id, g.name]));
  const byId = new Map(groups.groups.map((g) => [g.id, g]));
  const name = (gid) => names.get(gid) || gid;
  // A membership's path: from the group of the direct membership down each group its
  // members flow into.
  const path = (g) => {
    if (g.direct) return "direct member";
    const chain = [g.id];
    for (let cur = byId.get(g.id); cur && cur.parent_id && cur.id !== g.via && chain.length < 64; cur = byId.get(cur.parent_id)) chain.push(cur.parent_id);
    return `member of ${chain.reverse().map(name).join(" → ")}`;
  };
  // Each permission's paths as the API explains them (a check with explain), step by step.
  const shownPerms = perms.permissions.slice(0, 100);
  const explained = await Promise.all(shownPerms.map((p) =>
    api("POST", "/api/v1/check", { user_id: id, permission: p.permission, explain: true }).then((d) => d.explain?.paths || []).catch(() => [])));
  const unknown = [...new Set(explained.flat(2).map((s) => s.group_id).filter((g) => !names.has(g)))];
  for (const g of await Promise.all(unknown.map((gid) => api("GET", `/api/v1/groups/${gid}`).catch(() => null)))) {
    if (g) names.set(g.id, g.name);
  }
  const step = (s) => ({
    membership: `member of ${name(s.group_id)} (${s.role})`,
    inherits_members: `${name(s.group_id)} takes its parent's members`,
    inherits_permissions: `${name(s.group_id)} inherits permissions from its parent`,
    grants: `granted by ${name(s.group_id)}`,
    membership_grants: "the membership itself grants it",
  })[s.kind] || s.kind;
  const groupRows = groups.groups.map((g) => h("tr", {}, h("td", {}, h("a", { href: `#/group/${g.id}` }, g.name)), h("td", {}, g.role), h("td", { class: "path" }, path(g))));
  const permRows = shownPerms.map((p, i) => h("tr", {}, h("td", {}, p.permission), h("td", { class: "path" },
    explained[i].length ? explained[i].map((steps) => h("div", {}, steps.map(step).join(" → "))) : p.via.map(name).join("; "))));
  const colRows = collections.collections.map((c) => h("tr", {}, h("td", {}, c.collection_id), h("td", {}, level(c)), h("td", { class: "path" }, (c.via || []).map(name).join("; "))));
  const permission = h("input", { name: "permission", required: true, placeholder: "docs.read" });
  const answer = h("p", { role: "status" });
  const check = h("form", { "aria-label": "May this user" }, field("Permission", permission), h("button", { type: "submit" }, "Check"));
  check.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(check, async () => {
      const d = await api("POST", "/api/v1/check", { user_id: id, permission: permission.value });
      const via = (d.via || []).map((gid) => names.get(gid) || gid).join(", ");
      answer.replaceChildren(h("strong", { class: d.allowed ? "ok" : "error" }, d.allowed ? `Yes, through ${via}` : "No"));
    });
  });
  return [
    h("h1", {}, u.username), u.email ? h("p", {}, u.email) : null,
    h("h2", {}, "Groups (effective)"), groupRows.length ? table(["Group", "Role", "Path"], groupRows) : h("p", { class: "muted" }, "None."),
    h("h2", {}, "Permissions"), permRows.length ? table(["Permission", "Through"], permRows) : h("p", { class: "muted" }, "None."),
    h("h2", {}, "Collections"), colRows.length ? table(["Collection", "Level", "Through"], colRows) : h("p", { class: "muted" }, "None."),
    h("h2", {}, "May this user…"), check, answer,
  ];
}

/// What changed between two snapshots, key by key.
function diff(before, after) {
  const keys = [...new Set([...Object.keys(before || {}), ...Object.keys(after || {})])];
  return h("div", { class: "diff" }, keys.map((k) => {
    const a = JSON.stringify((before || {})[k]);
    const b = JSON.stringify((after || {})[k]);
    if (a === b) return null;
    return h("div", {}, h("strong", {}, `${k}: `), a !== undefined ? h("del", {}, a) : null, " ", b !== undefined ? h("ins", {}, b) : null);
  }));
}

async function auditView(params) {
  const q = new URLSearchParams({ per_page: "50" });
  for (const k of ["group_id", "actor_id", "action", "since", "until"]) if (params.get(k)) q.set(k, params.get(k));
  const list = await api("GET", `/api/v1/audit?${q}`);
  const inputs = Object.fromEntries(["group_id", "actor_id", "action"].map((k) => [k, h("input", { name: k, value: params.get(k) || "" })]));
  const since = h("input", { name: "since", type: "datetime-local" });
  const form = h("form", { "aria-label": "Filter the audit log" }, field("Group", inputs.group_id), field("Actor", inputs.actor_id), field("Action", inputs.action), field("Since", since), h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    for (const [k, el] of Object.entries(inputs)) if (el.value) p.set(k, el.value);
    if (since.value) p.set("since", new Date(since.value).toISOString());
    location.hash = `#/audit?${p}`;
  });
  const rows = (list.events || list.items || []).map((e) => h("tr", {}, h("td", {}, e.at), h("td", {}, e.action), h("td", {}, e.actor_id || "—"), h("td", {}, e.group_id ? h("a", { href: `#/group/${e.group_id}` }, e.group_id) : e.target_id), h("td", {}, diff(e.before, e.after))));
  return [h("h1", {}, "Audit log"), form, table(["When", "Action", "Actor", "About", "Change"], rows)];
}

async function keysView() {
  const list = await api("GET", "/api/v1/api-keys");
  const name = h("input", { name: "name", required: true });
  const scopes = ["groups:read", "groups:write", "users:read", "users:write"].map((s) => h("label", {}, h("input", { type: "checkbox", value: s, checked: s === "groups:read" }), s));
  const shown = h("div", {});
  const form = h("form", { "aria-label": "New API key" }, field("Name", name), h("fieldset", {}, h("legend", {}, "Scopes"), scopes), h("button", { type: "submit" }, "Create key"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(form, async () => {
      const chosen = scopes.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
      const k = await api("POST", "/api/v1/api-keys", { name: name.value, scopes: chosen, user_id: me()?.id });
      const copy = h("button", { type: "button", class: "secondary" }, "Copy");
      copy.addEventListener("click", () => navigator.clipboard?.writeText(k.key).then(() => say("Copied")));
      shown.replaceChildren(h("p", {}, "The key, shown this once:"), h("p", { class: "secret", id: "new-key" }, k.key), copy);
    });
  });
  const rows = (list.keys || list.api_keys || []).map((k) => {
    const row = h("tr", {});
    const revoke = h("button", { type: "button", class: "secondary" }, "Revoke");
    revoke.addEventListener("click", () => act(row.cells[3], async () => {
      await api("DELETE", `/api/v1/api-keys/${k.id}`);
      route();
    }));
    row.append(h("td", {}, k.name), h("td", {}, `${k.prefix}…`), h("td", {}, k.scopes.join(" ")), h("td", {}, revoke));
    return row;
  });
  return [h("h1", {}, "API keys"), table(["Name", "Key", "Scopes", ""], rows), h("h2", {}, "New key"), form, shown];
}

// ---- routing ----

async function route() {
  const [path, query] = (location.hash.slice(1) || "/groups").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  if (!store.getItem("token")) {
    main.replaceChildren(...signInView());
    return;
  }
  nav.hidden = false;
  document.getElementById("nav-me").href = `#/user/${me()?.id}`;
  try {
    let view;
    switch (parts[0]) {
      case "spaces": view = await spacesView(); break;
      case "group": view = await groupView(parts[1]); break;
      case "user": view = await userView(parts[1]); break;
      case "me": view = await userView(me()?.id); break;
      case "audit": view = await auditView(params); break;
      case "keys": view = await keysView(); break;
      default: view = await groupsView(params);
    }
    main.replaceChildren(...[view].flat(Infinity).filter(Boolean));
    document.title = `${main.querySelector("h1")?.textContent || "Cohort"} · Cohort console`;
  } catch (e) {
    main.replaceChildren(h("h1", {}, "Not shown"), h("p", { class: "error", role: "alert" }, e.message));
  }
}

document.getElementById("sign-out").addEventListener("click", async () => {
  await api("POST", "/api/v1/auth/logout").catch(() => null);
  signOut();
});
window.addEventListener("hashchange", route);
route();
