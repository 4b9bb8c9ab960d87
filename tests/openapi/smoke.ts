// A client generated from Cohort's OpenAPI document (openapi-typescript) called through
// openapi-fetch against a live server: this file must type-check against the generated
// types, then run. Usage: COHORT_URL=… COHORT_ADMIN_KEY=… node dist/smoke.js
import createClient from "openapi-fetch";
import type { components, paths } from "./cohort.js";

const base = process.env.COHORT_URL ?? "";
const key = process.env.COHORT_ADMIN_KEY ?? "";
const admin = createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${key}` } });

function must<T>(what: string, r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data === undefined) {
    throw new Error(`${what}: ${r.response.status} ${JSON.stringify(r.error)}`);
  }
  return r.data;
}

function check(what: string, ok: boolean): void {
  if (!ok) throw new Error(`failed: ${what}`);
  console.log(`ok - ${what}`);
}

const run = Date.now().toString(36);
const password = "correct horse battery";

// Users (a site key makes them).
const alice = must("create alice", await admin.POST("/api/v1/users", {
  body: { username: `alice-${run}`, email: `alice-${run}@example.com`, password },
}));
const bob = must("create bob", await admin.POST("/api/v1/users", { body: { username: `bob-${run}`, password } }));
const cat = must("create cat", await admin.POST("/api/v1/users", { body: { username: `cat-${run}`, password } }));
check("users have ids", alice.id.startsWith("usr_") && bob.id !== alice.id);

// Alice signs in and creates a group, which she owns.
const session = must("sign in", await admin.POST("/api/v1/auth/token", { body: { login: `alice-${run}`, password } }));
const asAlice = createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${session.token}` } });
const group = must("create group", await asAlice.POST("/api/v1/groups", {
  body: { name: `Engineering ${run}`, type: "team", visibility: "private" },
}));
check("alice owns her new group", group.member_count === 1);

// She adds two members.
for (const u of [bob, cat]) {
  must(`add ${u.username}`, await asAlice.POST("/api/v1/groups/{id}/members", {
    params: { path: { id: group.id } },
    body: { user_id: u.id, role: "member" },
  }));
}

// The site declares a permission and grants it to the group; Bob holds it, via the group.
const permission = `kb.read.${run}`;
must("declare", await admin.POST("/api/v1/permissions", { body: { permission, description: "Read the knowledge base" } }));
must("grant", await admin.PATCH("/api/v1/groups/{id}/permissions", {
  params: { path: { id: group.id } },
  body: { add: [permission] },
}));
const yes = must("check bob", await admin.POST("/api/v1/check", { body: { user_id: bob.id, permission } }));
check("bob may, through the group", yes.allowed && yes.via.includes(group.id));
const outsider = must("create dan", await admin.POST("/api/v1/users", { body: { username: `dan-${run}` } }));
const no = must("check dan", await admin.POST("/api/v1/check", { body: { user_id: outsider.id, permission } }));
check("dan may not", !no.allowed);

// A filtered list, walked a page at a time by cursor.
const seen: string[] = [];
let cursor: string | undefined = "";
while (cursor !== undefined) {
  const page: components["schemas"]["MemberList"] = must("list members", await asAlice.GET("/api/v1/groups/{id}/members", {
    params: { path: { id: group.id }, query: { filter: "role = 'member'", limit: 1, cursor } },
  }));
  seen.push(...page.members.map((m) => m.user_id));
  cursor = page.next_cursor ?? undefined;
}
check("the filter and the cursor give both members once", seen.length === 2 && new Set(seen).size === 2 && seen.includes(bob.id) && seen.includes(cat.id));

// Errors come back typed, with the error body's code.
const denied = await createClient<paths>({ baseUrl: base }).GET("/api/v1/groups/{id}", { params: { path: { id: group.id } } });
check("no credentials is 401 with an error body", denied.response.status === 401 && denied.error?.error === "unauthenticated");
