using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using AgentArtifacts.Api.Tests.Runs;
using AgentArtifacts.Api.Tests.Webhooks;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Grants;

/// <summary>
/// Every operation of the OpenAPI document, decided for credentials: the table below says, for each one, what the owner's own
/// token gets, what an API key scoped to <c>resource:text/*:read</c> and restricted to one other artifact gets, and which key
/// action the route needs (so a key holding every other action is refused). An operation the document lists and the table
/// does not fails the first test, so no route reaches a key without a decision. Refused requests change nothing and return
/// nothing of the owner's: not a run's input or output, not an artifact's text.
/// </summary>
public sealed class RouteMatrixTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    /// <summary>What a route admits besides users: a key action, any authenticated credential, no key at all, or anyone.</summary>
    public enum Keys { Read, Write, Create, Delete, Search, Invoke, AnyKey, Closed, Public }

    /// <summary>
    /// One operation: its concrete path and body (placeholders in braces are filled from the arrangement), the status of the
    /// owner's unscoped token, and the status of the text-reading key restricted to another artifact.
    /// </summary>
    public sealed record Operation(string Name, string Path, Keys Keys, HttpStatusCode Owner, HttpStatusCode TextKey, string? Body = null,
        string MediaType = "application/json", string? QueuesRun = null);

    private const HttpStatusCode Ok = HttpStatusCode.OK, Created = HttpStatusCode.Created, Accepted = HttpStatusCode.Accepted, NoContent = HttpStatusCode.NoContent,
        NotFound = HttpStatusCode.NotFound, Forbidden = HttpStatusCode.Forbidden;

    private static readonly Operation[] Table =
    [
        // Artifacts: a key reads only what its scopes and resource list cover; A is another text artifact than the key's.
        new("GET /artifacts/{id}", "/artifacts/{A}", Keys.Read, Ok, NotFound),
        new("PATCH /artifacts/{id}", "/artifacts/{A}", Keys.Write, Ok, Forbidden, """{"title":"Changed"}""", "application/merge-patch+json"),
        new("DELETE /artifacts/{id}", "/artifacts/{X}", Keys.Delete, NoContent, Forbidden),
        new("POST /artifacts", "/artifacts", Keys.Create, Created, Forbidden, """{"containerId":"{W}","contentType":"text/plain","title":"New"}"""),
        new("POST /artifacts/{id}/restore", "/artifacts/{Z}/restore", Keys.Delete, Ok, Forbidden, "{}"),
        new("POST /artifacts/{id}/move", "/artifacts/{D}/move", Keys.Write, Ok, Forbidden, """{"workspaceId":"{W2}"}"""),
        new("POST /artifacts/{id}/checkout", "/artifacts/{A}/checkout", Keys.Create, Created, Forbidden, """{"workspaceId":"{W2}"}"""),
        new("POST /artifacts/batch", "/artifacts/batch", Keys.Read, Ok, Ok, """{"ids":["{A}","{H}"]}"""),
        new("GET /artifacts/{id}/history", "/artifacts/{A}/history", Keys.Read, Ok, NotFound),
        new("GET /artifacts/{id}/revisions", "/artifacts/{A}/revisions", Keys.Read, Ok, NotFound),
        new("GET /artifacts/{id}/diff", "/artifacts/{A}/diff", Keys.Read, Ok, NotFound),
        // Containers: any read scope reads a container, but only one its resource list names.
        new("GET /workspaces", "/workspaces", Keys.Read, Ok, Ok),
        new("POST /workspaces", "/workspaces", Keys.Create, Created, Forbidden, """{"title":"New"}"""),
        new("GET /workspaces/{id}", "/workspaces/{W}", Keys.Read, Ok, NotFound),
        new("PATCH /workspaces/{id}", "/workspaces/{W}", Keys.Write, Ok, Forbidden, """{"title":"Renamed"}"""),
        new("DELETE /workspaces/{id}", "/workspaces/{W3}", Keys.Delete, NoContent, Forbidden),
        new("GET /workspaces/{id}/artifacts", "/workspaces/{W}/artifacts", Keys.Read, Ok, NotFound),
        new("GET /collections", "/collections", Keys.Read, Ok, Ok),
        new("POST /collections", "/collections", Keys.Create, Created, Forbidden, """{"title":"New"}"""),
        new("GET /collections/{id}", "/collections/{C}", Keys.Read, Ok, NotFound),
        new("PATCH /collections/{id}", "/collections/{C}", Keys.Write, Ok, Forbidden, """{"title":"Renamed"}"""),
        new("DELETE /collections/{id}", "/collections/{C2}", Keys.Delete, NoContent, Forbidden),
        new("GET /collections/{id}/artifacts", "/collections/{C}/artifacts", Keys.Read, Ok, NotFound),
        // Commits: as the workspace and collection they belong to.
        new("POST /workspaces/{id}/commit-preview", "/workspaces/{W}/commit-preview", Keys.Read, Ok, NotFound, "{}"),
        new("POST /workspaces/{id}/revert", "/workspaces/{W}/revert", Keys.Write, Ok, Forbidden, """{"artifactIds":["{E}"]}"""),
        new("POST /workspaces/{id}/commit", "/workspaces/{W}/commit", Keys.Write, Created, Forbidden, """{"message":"m"}"""),
        new("GET /commits/{id}", "/commits/{CM}", Keys.Read, Ok, NotFound),
        new("GET /collections/{id}/commits", "/collections/{C}/commits", Keys.Read, Ok, NotFound),
        // Runs: a key sees a run only when it may read the artifact that ran, and cancels one only when it may also invoke it.
        new("POST /artifacts/{id}/invoke", "/artifacts/{H}/invoke", Keys.Invoke, Ok, Forbidden, """{"input":{"marker":"{MARK}"}}"""),
        new("POST /artifacts/{id}/op/{op}", "/artifacts/{W}/op/commit_preview", Keys.Invoke, Ok, Forbidden, "{}"),
        new("GET /runs", "/runs", Keys.Read, Ok, Ok),
        new("GET /runs/{id}", "/runs/{R}", Keys.Read, Ok, NotFound),
        new("GET /runs/{id}/events", "/runs/{R}/events", Keys.Read, Ok, NotFound),
        new("POST /runs/{id}/cancel", "/runs/{R3}/cancel", Keys.Invoke, Ok, Forbidden, "{}"),
        // The event feed: any read scope follows it, seeing only the events its scopes read (Events/FollowEventsTests).
        new("GET /events", "/events", Keys.Read, Ok, Ok),
        // Approvals are human decisions that need admin on the artifact, which no key ever holds.
        new("GET /approvals", "/approvals", Keys.Closed, Ok, Forbidden),
        new("POST /approvals/{id}/approve", "/approvals/{P}/approve", Keys.Closed, Ok, Forbidden, "{}", QueuesRun: "R2"),
        new("POST /approvals/{id}/reject", "/approvals/{P2}/reject", Keys.Closed, Ok, Forbidden, "{}"),
        // Secrets: the owner's; a key needs a resource scope covering application/vnd.agience.secret+json.
        new("GET /secrets", "/secrets", Keys.Read, Ok, Forbidden),
        new("POST /secrets", "/secrets", Keys.Create, Created, Forbidden, """{"name":"NEW_SECRET","value":"v"}"""),
        new("GET /secrets/{id}", "/secrets/{S}", Keys.Read, Ok, Forbidden),
        new("DELETE /secrets/{id}", "/secrets/{S}", Keys.Delete, NoContent, Forbidden),
        // Search needs the search action; the text key has none.
        new("POST /search", "/search", Keys.Search, Ok, Forbidden, """{"query":"marker"}"""),
        new("GET /search", "/search?q=marker", Keys.Search, Ok, Forbidden),
        // Grants, API keys, server credentials and the platform: managing access is never a key's.
        new("POST /grants", "/grants", Keys.Closed, Created, Forbidden, """{"resourceId":"{W}","grantee":{"type":"user","id":"{BOB}"},"role":"viewer"}"""),
        new("GET /grants", "/grants?resourceId={W}", Keys.Closed, Ok, Forbidden),
        new("GET /grants/mine", "/grants/mine", Keys.Closed, Ok, Forbidden),
        new("GET /grants/{id}", "/grants/{G}", Keys.Closed, Ok, Forbidden),
        new("GET /grants/check", "/grants/check?resourceId={W}&permission=update", Keys.Closed, Ok, Forbidden),
        new("DELETE /grants/{id}", "/grants/{G}", Keys.Closed, NoContent, Forbidden),
        new("POST /grants/claim", "/grants/claim", Keys.Closed, Created, Forbidden, """{"token":"{INVITE}"}"""),
        new("POST /api-keys", "/api-keys", Keys.Closed, Created, Forbidden, """{"name":"k","scopes":["resource:*/*:read"]}"""),
        new("GET /api-keys", "/api-keys", Keys.Closed, Ok, Forbidden),
        new("GET /api-keys/{id}", "/api-keys/{K}", Keys.Closed, Ok, Forbidden),
        new("PATCH /api-keys/{id}", "/api-keys/{K}", Keys.Closed, Ok, Forbidden, """{"name":"renamed"}"""),
        new("POST /api-keys/{id}/rotate", "/api-keys/{K}/rotate", Keys.Closed, Ok, Forbidden, "{}"),
        new("DELETE /api-keys/{id}", "/api-keys/{K}", Keys.Closed, NoContent, Forbidden),
        new("POST /server-credentials", "/server-credentials", Keys.Closed, Created, Forbidden, """{"name":"s","scopes":["resource:*/*:read"]}"""),
        new("GET /server-credentials", "/server-credentials", Keys.Closed, Ok, Forbidden),
        new("POST /server-credentials/{clientId}/rotate", "/server-credentials/{SC}/rotate", Keys.Closed, Ok, Forbidden, "{}"),
        new("DELETE /server-credentials/{clientId}", "/server-credentials/{SC}", Keys.Closed, NoContent, Forbidden),
        new("GET /platform/settings", "/platform/settings", Keys.Closed, Ok, Forbidden),
        new("PATCH /platform/settings", "/platform/settings", Keys.Closed, Ok, Forbidden, """{"tokenPermitLimit":1000}"""),
        new("GET /platform/users", "/platform/users", Keys.Closed, Ok, Forbidden),
        new("POST /platform/users/{id}/admin", "/platform/users/{BOB}/admin", Keys.Closed, Ok, Forbidden, "{}"),
        new("DELETE /platform/users/{id}/admin", "/platform/users/{BOB}/admin", Keys.Closed, Ok, Forbidden),
        // The audit log is read by people (platform admins, containers' admins), never through a key.
        new("GET /audit-logs", "/audit-logs", Keys.Closed, Ok, Forbidden),
        // Webhooks: a user's own endpoints, closed to keys (an endpoint receives everything its owner may read).
        new("POST /webhooks", "/webhooks", Keys.Closed, Created, Forbidden, """{"url":"http://127.0.0.1:9/hook"}"""),
        new("GET /webhooks", "/webhooks", Keys.Closed, Ok, Forbidden),
        new("GET /webhooks/{id}", "/webhooks/{WH}", Keys.Closed, Ok, Forbidden),
        new("PATCH /webhooks/{id}", "/webhooks/{WH}", Keys.Closed, Ok, Forbidden, """{"description":"changed"}"""),
        new("GET /webhooks/{id}/deliveries", "/webhooks/{WH}/deliveries", Keys.Closed, Ok, Forbidden),
        new("POST /webhooks/{id}/test", "/webhooks/{WH}/test", Keys.Closed, Accepted, Forbidden, "{}"),
        new("POST /webhooks/{id}/deliveries/{deliveryId}/retry", "/webhooks/{WH}/deliveries/{WD}/retry", Keys.Closed, Accepted, Forbidden, "{}"),
        new("POST /webhooks/{id}/replay", "/webhooks/{WH}/replay", Keys.Closed, Accepted, Forbidden, """{"after":0}"""),
        new("POST /webhooks/{id}/rotate-secret", "/webhooks/{WH}/rotate-secret", Keys.Closed, Ok, Forbidden, "{}"),
        new("DELETE /webhooks/{id}", "/webhooks/{WH2}", Keys.Closed, NoContent, Forbidden),
        // The service's own catalogue and the caller itself: nothing of the owner's, open to any credential.
        new("GET /types", "/types", Keys.AnyKey, Ok, Ok),
        new("GET /types/resolve", "/types/resolve?contentType=text/markdown", Keys.AnyKey, Ok, Ok),
        new("GET /auth/me", "/auth/me", Keys.AnyKey, Ok, Ok),
        // Public: credentials play no part.
        new("POST /auth/register", "/auth/register", Keys.Public, Created, Created, """{"email":"{NEW}@example.com","password":"correct horse battery staple","name":"N"}"""),
        new("POST /auth/token", "/auth/token", Keys.Public, Ok, Ok, "grant_type=password&username={EMAIL}&password=correct+horse+battery+staple",
            "application/x-www-form-urlencoded"),
        new("GET /.well-known/openid-configuration", "/.well-known/openid-configuration", Keys.Public, Ok, Ok),
        new("GET /.well-known/jwks.json", "/.well-known/jwks.json", Keys.Public, Ok, Ok),
        new("GET /.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource", Keys.Public, Ok, Ok),
        new("GET /.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource/mcp", Keys.Public, Ok, Ok),
        new("GET /.well-known/mcp.json", "/.well-known/mcp.json", Keys.Public, Ok, Ok),
        new("GET /health/live", "/health/live", Keys.Public, Ok, Ok),
        new("GET /health/ready", "/health/ready", Keys.Public, Ok, Ok),
    ];

    private HttpPeer _peer = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _peer = await HttpPeer.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync() => await _peer.DisposeAsync();

    [Fact]
    public async Task every_operation_of_the_openapi_document_is_decided_in_the_table_and_nothing_else_is()
    {
        var document = await (await Fixture.Anonymous().GetAsync("/openapi.json")).Json();
        var documented = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(m => $"{m.Key.ToUpperInvariant()} {p.Key}"))
            .ToList();

        documented.Count.ShouldBeGreaterThan(60);
        documented.Except(Table.Select(o => o.Name)).ShouldBeEmpty("operations the key matrix has not decided");
        Table.Select(o => o.Name).Except(documented).ShouldBeEmpty("operations the table lists but the document does not");
        Table.Select(o => o.Name).ShouldBeUnique();
    }

    /// <summary>
    /// One arrangement serves every operation, in the table's order: each mutating row of the owner has a target of its own
    /// (X, W3, C2, E, R3, P2) or comes after the rows that read what it changes, so the rows do not disturb each other.
    /// Every mismatch is collected, so one run shows all of them.
    /// </summary>
    [Fact]
    public async Task each_credential_gets_what_the_table_decides_and_a_refusal_leaks_and_changes_nothing()
    {
        var world = await ArrangeAsync();
        var textKey = await world.Ada.Client.KeyAsync(["resource:text/*:read"], resourceIds: [world.Ids["T"]], name: "Text reader");
        using var textClient = Fixture.Host.NewClient(textKey.Secret);
        var lackingClients = new Dictionary<Keys, HttpClient>();
        foreach (var keys in Table.Select(o => o.Keys).Distinct())
        {
            lackingClients[keys] = Fixture.Host.NewClient((await world.Ada.Client.KeyAsync(ScopesLacking(keys), name: $"Without {keys}")).Secret);
        }
        var mismatches = new List<string>();

        foreach (var operation in Table)
        {
            // (a) a key that reads text, restricted to another artifact: it learns nothing of the owner's.
            await ExpectAsync(world, textClient, operation, "text key restricted to another artifact", operation.TextKey,
                operation.TextKey == Forbidden ? RefusalCode(operation.Keys) : null, mismatches);

            // (b) a key holding every action but the one the route needs (every action, on a route closed to keys).
            var lacking = operation.Keys is Keys.AnyKey or Keys.Public ? operation.TextKey : Forbidden;
            await ExpectAsync(world, lackingClients[operation.Keys], operation, "key without the route's action", lacking,
                lacking == Forbidden ? RefusalCode(operation.Keys) : null, mismatches);

            // (c) the owner's own token: the route works for its user as it always has.
            var owner = await SendAsync(world, world.Ada.Client, operation);
            if (owner.Status != operation.Owner) mismatches.Add($"owner → {operation.Name}: {(int)owner.Status} instead of {(int)operation.Owner} {owner.Body}");
            // A run the owner's call queued appends its events in the background: let it end before the next row counts events.
            else if (operation.QueuesRun is { } queued) await world.Ada.Client.WaitForRunAsync(world.Ids[queued], "completed");
        }

        foreach (var client in lackingClients.Values) client.Dispose();
        mismatches.ShouldBeEmpty();
    }

    /// <summary>
    /// Every operation with an id in its path, called by a platform admin with the all-zero uuid and with a random one: 404
    /// problem+json with a code, never a 5xx (ids in bodies are random too: nothing named exists).
    /// </summary>
    [Fact]
    public async Task every_route_answers_an_id_that_does_not_exist_with_404_and_a_code()
    {
        var ada = await Fixture.NewUserAsync();
        var mismatches = new List<string>();
        foreach (var id in new[] { Guid.Empty, Guid.CreateVersion7() })
        {
            var world = new World(ada, Table.SelectMany(o => Placeholders(o.Path + o.Body)).Distinct().ToDictionary(p => p, _ => Guid.NewGuid().ToString()), []);
            foreach (var operation in Table.Where(o => o.Name.Contains('{')))
            {
                var template = operation.Name[(operation.Name.IndexOf(' ') + 1)..].Split('/');
                var path = operation.Path.Split('?')[0].Split('/');
                var withId = string.Join('/', path.Select((segment, i) => template[i] is "{id}" or "{clientId}" ? id.ToString() : segment));
                var answer = await SendAsync(world, ada.Client, operation with { Path = withId + operation.Path[operation.Path.Split('?')[0].Length..] });
                var code = answer.MediaType == "application/problem+json" ? JsonNode.Parse(answer.Body)!["code"]?.GetValue<string>() : null;
                if (answer.Status != NotFound || string.IsNullOrEmpty(code))
                {
                    mismatches.Add($"{operation.Name} with {id}: {(int)answer.Status} {answer.MediaType} {answer.Body}");
                }
            }
        }
        mismatches.ShouldBeEmpty();
    }

    private static IEnumerable<string> Placeholders(string text) =>
        System.Text.RegularExpressions.Regex.Matches(text, "{([A-Z0-9]+)}").Select(m => m.Groups[1].Value);

    /// <summary>The problem code of a key's 403: a route closed to keys, or an action or resource its scopes do not cover.</summary>
    private static string RefusalCode(Keys keys) => keys == Keys.Closed ? "permission_denied" : "insufficient_scope";

    private static string[] ScopesLacking(Keys keys)
    {
        // A route open to any credential is called with a key whose one scope is unrelated to it.
        if (keys is Keys.AnyKey or Keys.Public) return ["prompt:text/x-none:delete"];
        var needed = keys == Keys.Closed ? null : keys.ToString().ToLowerInvariant();
        return [.. from kind in ApiKeyScopes.Kinds from action in ApiKeyScopes.Actions where action != needed select $"{kind}:*/*:{action}"];
    }

    private async Task ExpectAsync(World world, HttpClient client, Operation operation, string who, HttpStatusCode expected, string? code,
        List<string> mismatches)
    {
        var before = await Fixture.EventCountAsync();
        var answer = await SendAsync(world, client, operation);
        var at = $"{who} → {operation.Name}";

        if (answer.Status != expected) mismatches.Add($"{at}: {(int)answer.Status} instead of {(int)expected} {answer.Body}");
        else if ((int)expected >= 400)
        {
            var problemCode = answer.MediaType == "application/problem+json" ? JsonNode.Parse(answer.Body)!["code"]?.GetValue<string>() : null;
            if (string.IsNullOrEmpty(problemCode) || (code is not null && problemCode != code))
            {
                mismatches.Add($"{at}: problem code {problemCode ?? "(none)"} instead of {code ?? "any"} ({answer.MediaType})");
            }
            if (await Fixture.EventCountAsync() != before) mismatches.Add($"{at}: a refused request appended events");
        }
        if (operation.Keys != Keys.Public)
        {
            // Nothing of the owner's comes back: not the runs' input or output, not another artifact's text or title.
            foreach (var secret in world.Private.Where(p => answer.Body.Contains(p, StringComparison.Ordinal))) mismatches.Add($"{at}: leaked {secret}");
        }
    }

    private sealed record Answer(HttpStatusCode Status, string? MediaType, string Body);

    private static async Task<Answer> SendAsync(World world, HttpClient client, Operation operation)
    {
        var request = new HttpRequestMessage(new HttpMethod(operation.Name[..operation.Name.IndexOf(' ')]), world.Fill(operation.Path));
        if (operation.Body is { } body) request.Content = new StringContent(world.Fill(body), Encoding.UTF8, operation.MediaType);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        // The event feed never ends: its status and media type are the answer.
        var live = mediaType == "text/event-stream" && operation.Path == "/events";
        return new Answer(response.StatusCode, mediaType, live ? "" : await response.Content.ReadAsStringAsync());
    }

    /// <summary>What the owner has: ids to fill the paths with, and the texts no refused caller may ever see.</summary>
    private sealed record World(TestUser Ada, Dictionary<string, string> Values, IReadOnlyList<string> Private)
    {
        public Dictionary<string, Guid> Ids => Values.Where(v => Guid.TryParse(v.Value, out _)).ToDictionary(v => v.Key, v => Guid.Parse(v.Value));

        public string Fill(string template)
        {
            foreach (var (key, value) in Values) template = template.Replace("{" + key + "}", value);
            return template.Replace("{NEW}", Guid.NewGuid().ToString("N"));
        }
    }

    /// <summary>
    /// Ada (the platform admin) with a workspace W publishing to a collection C: a committed text artifact A, the key's own
    /// text artifact T, a committed X to archive, drafts D and E, an archived Z; in a second workspace W2 an HTTP tool H with a
    /// completed run R and a tool that needs approval with three waiting runs (R2 with approval P, P2, R3); a spare workspace
    /// W3 and collection C2; a secret S, another key K, a server credential SC, a grant G to Bob, an invite, and a commit CM.
    /// </summary>
    private async Task<World> ArrangeAsync()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var mark = $"private-{Guid.NewGuid():N}";
        var collection = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [collection]);
        var tools = await ada.WorkspaceAsync("Tools");
        var a = await ada.ArtifactAsync(workspace, $"Title {mark}-a", content: $"Body {mark}-a");
        var t = await ada.ArtifactAsync(workspace, "The key's own", contentType: "text/plain", content: "readable");
        var x = await ada.ArtifactAsync(workspace, $"Archive me {mark}-x");
        var commit = await (await ada.CommitAsync(workspace, "revision 1")).Json();
        var d = await ada.ArtifactAsync(workspace, $"Draft {mark}-d", content: $"Draft {mark}-d");
        var e = await ada.ArtifactAsync(workspace, $"Draft {mark}-e");
        var z = await ada.ArtifactAsync(workspace, $"Archived {mark}-z");
        (await ada.Client.DeleteAsync($"/artifacts/{z["id"]}")).EnsureSuccessStatusCode();

        var echo = new JsonObject { ["endpoint"] = new JsonObject { ["url"] = _peer.Url("/echo").ToString() } };
        var tool = await ada.ArtifactAsync(tools, $"Tool {mark}-h", contentType: "application/vnd.agience.http-tool+json", content: null, context: echo);
        var guardedContext = echo.DeepClone().AsObject();
        guardedContext["requiresApproval"] = true;
        var guarded = (await ada.ArtifactAsync(tools, "Guarded", contentType: "application/vnd.agience.http-tool+json", content: null,
            context: guardedContext))["id"]!.GetValue<Guid>();
        var run = await (await ada.Client.InvokeAsync(tool["id"]!.GetValue<Guid>(), new { marker = $"{mark}-input" })).Json();
        run["status"]!.GetValue<string>().ShouldBe("completed", run.ToJsonString());
        run.ToJsonString().ShouldContain($"{mark}-input");  // the output echoes the input: the leak checks can fail
        var waiting = new List<JsonObject>();
        for (var i = 0; i < 3; i++) waiting.Add(await (await ada.Client.InvokeAsync(guarded, new { marker = $"{mark}-approval-{i}" })).Json());

        var secret = await (await ada.Client.PostJson("/secrets", new { name = "MATRIX_SECRET", value = $"{mark}-secret" })).Json();
        var otherKey = await ada.Client.KeyAsync(["resource:*/*:read"], name: "Other");
        var webhook = await ada.Client.WebhookAsync("http://127.0.0.1:9/hook");
        var spareWebhook = await ada.Client.WebhookAsync("http://127.0.0.1:9/hook");
        var failedDelivery = Guid.CreateVersion7();
        await Fixture.SqlAsync("insert into agentartifacts.webhook_deliveries (id, webhook_id, type, message_id, payload, state, created_at) " +
            $"values ('{failedDelivery}', '{webhook.Id}', 'webhook.test', 'msg_matrix', '{{}}', 'failed', now())");
        var credential = await (await ada.Client.PostJson("/server-credentials", new { name = "Indexer", scopes = new[] { "resource:*/*:read" } })).Json();
        var grant = await (await ada.GrantAsync(workspace, bob.Id, role: "viewer")).Json();
        var invite = await (await ada.Client.PostJson("/grants", new { resourceId = collection, grantee = new { type = "invite" }, role = "viewer" })).Json();

        var values = new Dictionary<string, string>
        {
            ["W"] = workspace.ToString(), ["W2"] = tools.ToString(), ["W3"] = (await ada.WorkspaceAsync("Spare")).ToString(),
            ["C"] = collection.ToString(), ["C2"] = (await ada.CollectionAsync("Spare")).ToString(),
            ["A"] = a["id"]!.ToString(), ["T"] = t["id"]!.ToString(), ["X"] = x["id"]!.ToString(), ["D"] = d["id"]!.ToString(),
            ["E"] = e["id"]!.ToString(), ["Z"] = z["id"]!.ToString(), ["H"] = tool["id"]!.ToString(), ["R"] = run["id"]!.ToString(),
            ["R2"] = waiting[0]["id"]!.ToString(), ["P"] = waiting[0]["approvalId"]!.ToString(), ["P2"] = waiting[1]["approvalId"]!.ToString(),
            ["R3"] = waiting[2]["id"]!.ToString(),
            ["S"] = secret["id"]!.ToString(), ["K"] = otherKey.Id.ToString(), ["SC"] = credential["clientId"]!.ToString(),
            ["G"] = grant["id"]!.ToString(), ["INVITE"] = invite["token"]!.ToString(), ["CM"] = commit["id"]!.ToString(),
            ["WH"] = webhook.Id.ToString(), ["WH2"] = spareWebhook.Id.ToString(), ["WD"] = failedDelivery.ToString(),
            ["BOB"] = bob.Id.ToString(), ["EMAIL"] = Uri.EscapeDataString(ada.Email), ["MARK"] = $"{mark}-invoked",
        };
        return new World(ada, values, [mark, "MATRIX_SECRET", bob.Email, credential["clientId"]!.ToString()]);
    }
}
