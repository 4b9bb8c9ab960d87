// The real `pocketbase` SDK against a running Cohort (COHORT_URL, COHORT_ADMIN_KEY).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import PocketBase, { ClientResponseError } from "pocketbase";
import { EventSource } from "eventsource";

// The SDK's realtime subscriptions need an EventSource, which this Node has not built in.
globalThis.EventSource ??= EventSource;

const base = process.env.COHORT_URL;
const adminKey = process.env.COHORT_ADMIN_KEY;
const password = "correct horse battery";
let space, alice, bob;

async function native(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${adminKey}`, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function signedIn(identity) {
  const pb = new PocketBase(base);
  pb.autoCancellation(false);
  await pb.collection("users").authWithPassword(identity, password);
  return pb;
}

before(async () => {
  space = (await native("POST", "/api/v1/spaces", { name: `Campus ${Date.now()}` })).id;
  alice = await native("POST", "/api/v1/users", { username: `alice${Date.now()}`, email: `alice${Date.now()}@example.com`, password });
  bob = await native("POST", "/api/v1/users", { username: `bob${Date.now()}`, email: `bob${Date.now()}@example.com`, password });
});

test("health and password sign-in, then refresh", async () => {
  const pb = new PocketBase(base);
  const health = await pb.health.check();
  assert.equal(health.code, 200);
  const auth = await pb.collection("users").authWithPassword(alice.email, password);
  assert.ok(pb.authStore.isValid);
  assert.equal(auth.record.id, alice.id);
  assert.equal(auth.record.collectionName, "users");
  const refreshed = await pb.collection("users").authRefresh();
  assert.ok(refreshed.token && refreshed.token !== auth.token);
  await assert.rejects(new PocketBase(base).collection("users").authWithPassword(alice.username, "wrong password!"), (e) => e instanceof ClientResponseError && e.status === 400);
});

test("groups: create, list with filter and paging, get, update, delete", async () => {
  const pb = await signedIn(alice.username);
  const created = await pb.collection("groups").create({ name: "Machine Learning Club", description: "Group for ML enthusiasts", space, isPublic: true, moderators: [alice.id] });
  assert.equal(created.collectionName, "groups");
  assert.equal(created.space, space);
  assert.equal(created.isPublic, true);
  assert.deepEqual(created.moderators, [alice.id]);
  assert.match(created.created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
  for (const name of ["Chess", "Robotics", 'Quote "Club"']) {
    await pb.collection("groups").create({ name, space, isPublic: true });
  }
  const list = await pb.collection("groups").getList(1, 30, { filter: pb.filter("space = {:space}", { space }) });
  assert.equal(list.totalItems, 4);
  assert.equal(list.perPage, 30);
  const paged = await pb.collection("groups").getList(2, 3, { filter: `space='${space}'`, sort: "-created" });
  assert.equal(paged.items.length, 1);
  assert.equal(paged.totalPages, 2);
  assert.equal(paged.items[0].name, "Machine Learning Club");
  const quoted = await pb.collection("groups").getList(1, 30, { filter: pb.filter("name = {:n} && isPublic = true", { n: 'Quote "Club"' }) });
  assert.equal(quoted.items.length, 1);
  const all = await pb.collection("groups").getFullList({ filter: `space="${space}"` });
  assert.equal(all.length, 4);
  const one = await pb.collection("groups").getOne(created.id);
  assert.equal(one.name, "Machine Learning Club");
  const updated = await pb.collection("groups").update(created.id, { description: "Updated group description" });
  assert.equal(updated.description, "Updated group description");
  assert.equal(await pb.collection("groups").delete(created.id), true);
  await assert.rejects(pb.collection("groups").getOne(created.id), (e) => e instanceof ClientResponseError && e.status === 404);
});

test("members: join, list with expand user, change role, leave", async () => {
  const pa = await signedIn(alice.username);
  const group = await pa.collection("groups").create({ name: "Study Group", space, isPublic: true, moderators: [alice.id] });
  const pb = await signedIn(bob.username);
  const joined = await pb.collection("group_members").create({ group: group.id, user: bob.id, role: "member" });
  assert.equal(joined.collectionName, "group_members");
  assert.equal(joined.role, "member");
  const members = await pa.collection("group_members").getList(1, 30, { filter: `group='${group.id}'`, expand: "user" });
  assert.equal(members.totalItems, 2);
  const bobs = members.items.find((m) => m.user === bob.id);
  assert.equal(bobs.expand.user.username, bob.username);
  const promoted = await pa.collection("group_members").update(joined.id, { role: "moderator" });
  assert.equal(promoted.role, "moderator");
  assert.equal(await pb.collection("group_members").delete(joined.id), true);
});

test("errors: 404 for unknown records, 403 for members changing a group", async () => {
  const pa = await signedIn(alice.username);
  const group = await pa.collection("groups").create({ name: "Guarded", space, isPublic: true });
  const pb = await signedIn(bob.username);
  await pb.collection("group_members").create({ group: group.id, user: bob.id, role: "member" });
  await assert.rejects(pb.collection("groups").getOne("nope"), (e) => {
    assert.ok(e instanceof ClientResponseError);
    assert.equal(e.status, 404);
    assert.equal(e.response.status, 404);
    assert.equal(typeof e.response.message, "string");
    return true;
  });
  await assert.rejects(pb.collection("groups").update(group.id, { description: "mine now" }), (e) => {
    assert.equal(e.status, 403);
    assert.deepEqual(Object.keys(e.response).sort(), ["data", "message", "status"]);
    return true;
  });
  await assert.rejects(pa.collection("groups").create({ description: "no name", space }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.response.data.name.code, "validation_required");
    return true;
  });
});

// What a subscription receives; `next(match)` is the first event that matches, received or to come.
function inbox() {
  const seen = [];
  const waiting = new Set();
  return {
    seen,
    push(e) {
      seen.push(e);
      for (const w of [...waiting]) {
        if (w.match(e)) {
          waiting.delete(w);
          clearTimeout(w.timer);
          w.resolve(e);
        }
      }
    },
    next(match) {
      const found = seen.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { match, resolve };
        w.timer = setTimeout(() => {
          waiting.delete(w);
          reject(new Error(`no such event in time; received ${JSON.stringify(seen)}`));
        }, 10000);
        waiting.add(w);
      });
    },
  };
}

test("realtime: subscribers are told creates, updates, deletes and members of what they may read", async () => {
  const pa = await signedIn(alice.username);
  const pb = await signedIn(bob.username);
  const [groups, members, one, bobs] = [inbox(), inbox(), inbox(), inbox()];
  try {
    await pa.collection("groups").subscribe("*", (e) => groups.push(e));
    await pa.collection("group_members").subscribe("*", (e) => members.push(e));
    await pb.collection("groups").subscribe("*", (e) => bobs.push(e));

    const group = await pa.collection("groups").create({ name: "Realtime Club", space, isPublic: false, moderators: [alice.id] });
    const created = await groups.next((e) => e.action === "create" && e.record.id === group.id);
    assert.equal(created.record.collectionName, "groups");
    assert.equal(created.record.name, "Realtime Club");
    assert.deepEqual(created.record.moderators, [alice.id]);

    await pa.collection("groups").subscribe(group.id, (e) => one.push(e));
    await pa.collection("groups").update(group.id, { description: "live" });
    const updated = await groups.next((e) => e.action === "update" && e.record.id === group.id);
    assert.equal(updated.record.description, "live");
    assert.equal((await one.next((e) => e.action === "update")).record.id, group.id);

    // A member added through the native API is a group_members record created.
    const carol = await native("POST", "/api/v1/users", { username: `carol${Date.now()}`, email: `carol${Date.now()}@example.com`, password });
    await native("POST", `/api/v1/groups/${group.id}/members`, { user_id: carol.id, role: "member" });
    const added = await members.next((e) => e.action === "create" && e.record.user === carol.id);
    assert.equal(added.record.collectionName, "group_members");
    assert.equal(added.record.group, group.id);
    assert.equal(added.record.role, "member");

    await pa.collection("groups").delete(group.id);
    const deleted = await groups.next((e) => e.action === "delete" && e.record.id === group.id);
    assert.equal(deleted.record.collectionName, "groups");

    // Bob cannot read the private group: of all that, he is told nothing. Events come in
    // commit order, so once a later public group reaches him, nothing else will.
    const open = await pa.collection("groups").create({ name: "Open Realtime", space, isPublic: true });
    await bobs.next((e) => e.action === "create" && e.record.id === open.id);
    assert.ok(!bobs.seen.some((e) => e.record.id === group.id), JSON.stringify(bobs.seen));
  } finally {
    await pa.realtime.unsubscribe();
    await pb.realtime.unsubscribe();
  }
});
