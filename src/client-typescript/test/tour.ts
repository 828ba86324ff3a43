// The README tour, step by step, through the generated client only: its methods, its types, openapi-fetch's `params`
// (path, query and the declared headers), `body`, and `headers` for the request's Content-Type. No casts: where the
// OpenAPI document is wrong, this file does not compile.
// AGENTARTIFACTS_URL is the service's base URL; AGENTARTIFACTS_ECHO_URL an HTTP endpoint answering {"echo": <body>}.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createClient, type AgentArtifactsClient } from "../src/index.js";

const baseUrl = required("AGENTARTIFACTS_URL");
const echoUrl = required("AGENTARTIFACTS_ECHO_URL");

let currentStep = "";

/** What every openapi-fetch call resolves to: the parsed success body, or the parsed error body, and the response. */
interface Outcome<Data, Failure> {
  data?: Data;
  error?: Failure;
  response: Response;
}

/** Asserts the status and returns the success body. */
function expect<Data, Failure>(outcome: Outcome<Data, Failure>, status: number): Data {
  assert.equal(outcome.response.status, status, `${outcome.response.url}: ${JSON.stringify(outcome.error)}`);
  if (outcome.data === undefined) {
    assert.fail(`${outcome.response.url}: ${status} without a body`);
  }
  return outcome.data;
}

/** Asserts the status and returns the problem+json body. */
function expectProblem<Data, Failure>(outcome: Outcome<Data, Failure>, status: number): Failure {
  assert.equal(outcome.response.status, status, `${outcome.response.url}: ${JSON.stringify(outcome.data)}`);
  assert.equal(outcome.response.headers.get("Content-Type"), "application/problem+json");
  if (outcome.error === undefined) {
    assert.fail(`${outcome.response.url}: ${status} without a problem`);
  }
  return outcome.error;
}

/** Asks again until the answer passes: the listings and search are fed by asynchronous projections. */
async function eventually<T>(ask: () => Promise<T>, passes: (answer: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await ask();
    if (passes(answer)) return answer;
    if (Date.now() > deadline) assert.fail(`${what}: still not there after 30 s, last answer ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function step(name: string, body: () => Promise<void>): Promise<void> {
  currentStep = name;
  await body();
  console.log(`ok   ${name}`);
}

/** A tool's output is any JSON: a type guard (not a cast) lets the tour look inside it. */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

async function passwordToken(anonymous: AgentArtifactsClient, username: string, password: string) {
  return expect(
    await anonymous.POST("/auth/token", {
      body: { grant_type: "password", username, password },
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    }),
    200,
  );
}

async function tour(): Promise<void> {
  const anonymous = createClient({ baseUrl });
  const adaPassword = "correct horse battery";
  let adaId = "";
  let ada = anonymous;
  let workspaceId = "";
  let artifactId = "";
  let collectionId = "";

  await step("1 register Ada", async () => {
    const user = expect(
      await anonymous.POST("/auth/register", { body: { email: "ada@example.com", password: adaPassword, name: "Ada" } }),
      201,
    );
    assert.match(user.id, /^[0-9a-f-]{36}$/);
    adaId = user.id;
  });

  await step("2 token (password grant)", async () => {
    const token = await passwordToken(anonymous, "ada@example.com", adaPassword);
    assert.ok(token.access_token.length > 0);
    // Optional in the document (client credentials get none); a password grant always issues one.
    assert.ok(token.refresh_token, "a password grant issues a refresh token");
    ada = createClient({ baseUrl, token: token.access_token });
  });

  await step("3 who am I", async () => {
    const me = expect(await ada.GET("/auth/me"), 200);
    assert.equal(me.id, adaId);
    assert.equal(me.email, "ada@example.com");
  });

  await step("4 create a workspace", async () => {
    const workspace = expect(await ada.POST("/workspaces", { body: { title: "Research" } }), 201);
    workspaceId = workspace.id;
  });

  await step("5 create a markdown artifact (Idempotency-Key), ETag \"1\"", async () => {
    const create = {
      params: { header: { "Idempotency-Key": `tour-${randomUUID()}` } },
      body: { containerId: workspaceId, contentType: "text/markdown", title: "Notes", content: "# Hello" },
    };
    const created = expect(await ada.POST("/artifacts", create), 201);
    assert.equal(created.version, 1);
    artifactId = created.id;
    // The key went out: a retry with it gets the first answer again instead of a second artifact.
    const retried = await ada.POST("/artifacts", create);
    assert.equal(expect(retried, 201).id, artifactId);
    assert.equal(retried.response.headers.get("Idempotent-Replayed"), "true");
    const read = await ada.GET("/artifacts/{id}", { params: { path: { id: artifactId } } });
    expect(read, 200);
    assert.equal(read.response.headers.get("ETag"), '"1"');
  });

  await step("6 merge-patch with If-Match, then a stale If-Match is 412", async () => {
    const patched = expect(
      await ada.PATCH("/artifacts/{id}", {
        params: { path: { id: artifactId }, header: { "If-Match": '"1"' } },
        body: { title: "Notes, revised", tags: ["draft"] },
        headers: { "Content-Type": "application/merge-patch+json" },
      }),
      200,
    );
    assert.equal(patched.title, "Notes, revised");
    assert.deepEqual(patched.tags, ["draft"]);
    assert.equal(patched.version, 3, "one event per field that changed: retitled, retagged");
    const stale = await ada.PATCH("/artifacts/{id}", {
      params: { path: { id: artifactId }, header: { "If-Match": '"1"' } },
      body: { title: "Lost update" },
      headers: { "Content-Type": "application/merge-patch+json" },
    });
    assert.equal(expectProblem(stale, 412).code, "precondition_failed");
  });

  await step("7 history", async () => {
    const history = expect(await ada.GET("/artifacts/{id}/history", { params: { path: { id: artifactId } } }), 200);
    assert.ok(history.items.length >= 2);
    for (const entry of history.items) {
      assert.ok(entry.version >= 1);
      assert.ok(entry.event.length > 0);
      assert.equal(entry.actor, adaId);
      assert.ok(!Number.isNaN(Date.parse(entry.at)));
    }
  });

  await step("8 workspace listing filtered by content type", async () => {
    await eventually(
      async () =>
        expect(
          await ada.GET("/workspaces/{id}/artifacts", {
            params: { path: { id: workspaceId }, query: { contentType: "text/*" } },
          }),
          200,
        ),
      (page) => page.items.some((item) => item.id === artifactId),
      "the artifact in the workspace listing",
    );
  });

  await step("9 a collection as the workspace's commit target", async () => {
    const collection = expect(await ada.POST("/collections", { body: { title: "Team notes" } }), 201);
    collectionId = collection.id;
    const workspace = expect(
      await ada.PATCH("/workspaces/{id}", {
        params: { path: { id: workspaceId } },
        body: { targetCollectionIds: [collectionId] },
      }),
      200,
    );
    assert.deepEqual(workspace.targetCollectionIds, [collectionId]);
  });

  let commitToken = "";
  await step("10 commit preview", async () => {
    const preview = expect(
      await ada.POST("/workspaces/{id}/commit-preview", { params: { path: { id: workspaceId } }, body: {} }),
      200,
    );
    const item = preview.items.find((planned) => planned.artifactId === artifactId);
    assert.ok(item, "the artifact is in the preview");
    assert.equal(item.kind, "added");
    assert.equal(item.baseRevision, 0);
    assert.equal(item.nextRevision, 1);
    assert.ok(item.changedFields.length > 0);
    assert.ok(preview.commitToken.length > 0);
    commitToken = preview.commitToken;
  });

  await step("11 commit with the preview's token (Idempotency-Key)", async () => {
    const commit = expect(
      await ada.POST("/workspaces/{id}/commit", {
        params: { path: { id: workspaceId }, header: { "Idempotency-Key": `tour-commit-${randomUUID()}` } },
        body: { message: "First notes", commitToken },
      }),
      201,
    );
    assert.equal(commit.message, "First notes");
    assert.ok(commit.items.some((item) => item.artifactId === artifactId && item.toRevision === 1));
  });

  await step("12 edit the committed artifact: a draft again, and its diff", async () => {
    const draft = expect(
      await ada.PATCH("/artifacts/{id}", {
        params: { path: { id: artifactId } },
        body: { content: "# Hello\n\nSecond thoughts." },
        headers: { "Content-Type": "application/merge-patch+json" },
      }),
      200,
    );
    assert.equal(draft.state, "draft");
    assert.equal(draft.baseRevision, 1);
    const diff = expect(await ada.GET("/artifacts/{id}/diff", { params: { path: { id: artifactId } } }), 200);
    assert.ok(diff.changedFields.includes("content"));
    assert.ok(diff.content.unified.length > 0);
  });

  await step("13 commit the edit", async () => {
    const commit = expect(
      await ada.POST("/workspaces/{id}/commit", {
        params: { path: { id: workspaceId } },
        body: { message: "Second thoughts" },
      }),
      201,
    );
    const item = commit.items.find((committed) => committed.artifactId === artifactId);
    assert.ok(item, "the artifact is in the commit");
    assert.equal(item.fromRevision, 1);
    assert.equal(item.toRevision, 2);
  });

  await step("14 revisions, an old revision, a diff between revisions, the collection and its commits", async () => {
    const revisions = expect(
      await ada.GET("/artifacts/{id}/revisions", { params: { path: { id: artifactId } } }),
      200,
    );
    assert.deepEqual(revisions.items.map((revision) => revision.revision).sort((a, b) => a - b), [1, 2]);
    const first = expect(
      await ada.GET("/artifacts/{id}", { params: { path: { id: artifactId }, query: { revision: 1 } } }),
      200,
    );
    assert.equal(first.revision, 1);
    assert.equal(first.content, "# Hello");
    const diff = expect(
      await ada.GET("/artifacts/{id}/diff", { params: { path: { id: artifactId }, query: { from: "1", to: "2" } } }),
      200,
    );
    assert.match(diff.content.unified, /Second thoughts/);
    await eventually(
      async () => expect(await ada.GET("/collections/{id}/artifacts", { params: { path: { id: collectionId } } }), 200),
      (page) => page.items.some((item) => item.id === artifactId && item.revision === 2),
      "revision 2 in the collection",
    );
    await eventually(
      async () => expect(await ada.GET("/collections/{id}/commits", { params: { path: { id: collectionId } } }), 200),
      (page) => page.items.length === 2,
      "both commits in the collection's history",
    );
  });

  await step("15 a read-only API key: it reads, it may not delete", async () => {
    const issued = expect(
      await ada.POST("/api-keys", {
        body: { name: "read-only bot", scopes: ["resource:text/*:read"], expiresInDays: 30 },
      }),
      201,
    );
    // The key is null only when an idempotent replay answers (the secret is never stored): not here.
    if (issued.key === null) assert.fail("the issued key has no secret");
    assert.match(issued.key, /^aa_/);
    const bot = createClient({ baseUrl, token: issued.key });
    const read = expect(await bot.GET("/artifacts/{id}", { params: { path: { id: artifactId } } }), 200);
    assert.equal(read.id, artifactId);
    const refused = await bot.DELETE("/artifacts/{id}", { params: { path: { id: artifactId } } });
    assert.equal(expectProblem(refused, 403).code, "insufficient_scope");
  });

  await step("16 search with a type filter, and facets", async () => {
    const found = await eventually(
      async () => expect(await ada.GET("/search", { params: { query: { q: "thoughts type:text/*" } } }), 200),
      (result) => result.items.some((hit) => hit.id === artifactId),
      "the artifact in search",
    );
    assert.ok(found.items.every((hit) => hit.contentType.startsWith("text/")));
    assert.ok((found.facets.contentType["text/markdown"] ?? 0) >= 1, `facets ${JSON.stringify(found.facets)}`);
  });

  await step("17 Bob, a viewer of the collection: published revisions only", async () => {
    const bobPassword = "another long password";
    const registered = expect(
      await anonymous.POST("/auth/register", { body: { email: "bob@example.com", password: bobPassword, name: "Bob" } }),
      201,
    );
    const bob = createClient({ baseUrl, token: (await passwordToken(anonymous, "bob@example.com", bobPassword)).access_token });
    const grant = expect(
      await ada.POST("/grants", {
        body: { resourceId: collectionId, grantee: { type: "user", id: registered.id }, role: "viewer" },
      }),
      201,
    );
    assert.equal(grant.resourceId, collectionId);
    const listing = expect(await bob.GET("/collections/{id}/artifacts", { params: { path: { id: collectionId } } }), 200);
    assert.ok(listing.items.some((item) => item.id === artifactId));
    const published = expect(
      await bob.GET("/artifacts/{id}", { params: { path: { id: artifactId }, query: { revision: 2 } } }),
      200,
    );
    assert.equal(published.content, "# Hello\n\nSecond thoughts.");
    const head = await bob.GET("/artifacts/{id}", { params: { path: { id: artifactId } } });
    assert.equal(expectProblem(head, 404).code, "not_found");
    const check = expect(
      await bob.GET("/grants/check", { params: { query: { resourceId: collectionId, permission: "update" } } }),
      200,
    );
    assert.equal(check.allowed, false);
  });

  await step("18 an HTTP tool: sync and async runs", async () => {
    const settings = expect(
      await ada.PATCH("/platform/settings", { body: { egressAllowedHosts: ["127.0.0.1"] } }),
      200,
    );
    assert.deepEqual(settings.egressAllowedHosts, ["127.0.0.1"]);
    const tool = expect(
      await ada.POST("/artifacts", {
        body: {
          containerId: workspaceId,
          contentType: "application/vnd.agience.http-tool+json",
          title: "Echo",
          context: { endpoint: { url: echoUrl } },
        },
      }),
      201,
    );
    const sync = expect(
      await ada.POST("/artifacts/{id}/invoke", { params: { path: { id: tool.id } }, body: { input: { question: "ping" } } }),
      200,
    );
    assert.equal(sync.status, "completed");
    assert.ok(isObject(sync.output), `output ${JSON.stringify(sync.output)}`);
    assert.deepEqual(sync.output.echo, { question: "ping" });
    const accepted = await ada.POST("/artifacts/{id}/invoke", {
      params: { path: { id: tool.id } },
      body: { input: { n: 2 }, mode: "async" },
    });
    const queued = expect(accepted, 202);
    assert.equal(accepted.response.headers.get("Location"), `/runs/${queued.id}`);
    await eventually(
      async () => expect(await ada.GET("/runs/{id}", { params: { path: { id: queued.id } } }), 200),
      (run) => run.status === "completed",
      "the async run completed",
    );
    const runs = expect(await ada.GET("/runs", { params: { query: { artifactId: tool.id } } }), 200);
    assert.deepEqual(runs.items.map((run) => run.id).sort(), [sync.id, queued.id].sort());
  });
}

tour().then(
  () => console.log("tour: all 18 steps passed"),
  (error: unknown) => {
    console.error(`FAILED step ${currentStep}`);
    console.error(error);
    process.exitCode = 1;
  },
);
