using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Commits;
using AgentArtifacts.Api.Events;
using AgentArtifacts.Api.Grants;
using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.Platform;
using AgentArtifacts.Api.Runs;
using AgentArtifacts.Api.ServerCredentials;
using AgentArtifacts.Api.StoredSecrets;
using JasperFx.Events;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Events;

/// <summary>The one mapping from internal to public events, asserted event by event. No database.</summary>
public sealed class PublicEventsTests
{
    private static readonly Guid User = Guid.CreateVersion7();
    private static readonly Guid Workspace = Guid.CreateVersion7();
    private static readonly Guid OtherWorkspace = Guid.CreateVersion7();
    private static readonly Guid Collection = Guid.CreateVersion7();
    private static readonly Guid ArtifactId = Guid.CreateVersion7();
    private static readonly Guid RunId = Guid.CreateVersion7();
    private static readonly Guid GrantId = Guid.CreateVersion7();
    private static readonly DateTimeOffset At = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The artifact (a tool, in a workspace until sequence 100, then in another), a run of it, and a grant on the workspace.</summary>
    private static readonly EventFacts Facts = Placed();

    private static EventFacts Placed()
    {
        var facts = EventFacts.Of(runs: [(RunId, ArtifactId)], grants: [(GrantId, Workspace)],
            artifacts: [(ArtifactId, "application/vnd.agience.tool+json", Workspace), (Workspace, "application/vnd.agience.workspace+json", null)]);
        return facts;
    }

    private static IEvent Wrap(object data, long sequence = 42, string? user = null, string? credential = null, string? trace = null)
    {
        var e = (IEvent)Activator.CreateInstance(typeof(Event<>).MakeGenericType(data.GetType()), data)!;
        e.Sequence = sequence;
        e.Timestamp = At;
        e.UserName = user ?? User.ToString();
        e.StreamId = data switch { ArtifactCreated or ArtifactRetitled or ArtifactMoved => ArtifactId, _ => Guid.Empty };
        if (credential is not null) e.SetHeader(ActorMiddleware.CredentialHeader, credential);
        e.CorrelationId = trace;
        return e;
    }

    private static PublicEvent Map(object data, IEventFacts? facts = null) => PublicEvents.From(Wrap(data), facts ?? Facts).ShouldNotBeNull();

    private static JsonObject DataOf(PublicEvent e) => JsonSerializer.SerializeToNode(e.Data, e.Data.GetType(), WolverineHttpSetup.Json)!.AsObject();

    [Fact]
    public void artifact_created_names_the_artifact_its_workspace_and_type_and_carries_no_content()
    {
        var e = Map(new ArtifactCreated(ArtifactId, Workspace, "text/markdown", "Notes", "About", ["a"], new JsonObject { ["k"] = "v" }, "the body"));
        (e.Sequence, e.Type, e.Time, e.ResourceType, e.ResourceId, e.ContainerId, e.ContentType)
            .ShouldBe((42L, "artifact.created", At, "artifact", ArtifactId, Workspace, "text/markdown"));
        var data = DataOf(e);
        data.Select(p => p.Key).ShouldBe(["artifactId", "containerId", "contentType", "title", "description", "tags"]);
        data["title"]!.GetValue<string>().ShouldBe("Notes");
        data.ToJsonString().ShouldNotContain("the body");
    }

    [Fact]
    public void each_field_edit_is_artifact_updated_naming_the_field_with_small_values_only()
    {
        var retitled = DataOf(Map(new ArtifactRetitled(ArtifactId, "New")));
        retitled["changed"]!.AsArray().Select(n => n!.GetValue<string>()).ShouldBe(["title"]);
        retitled["title"]!.GetValue<string>().ShouldBe("New");

        var described = Map(new ArtifactDescribed(ArtifactId, null));
        described.Type.ShouldBe("artifact.updated");
        DataOf(described)["changed"]!.AsArray().Single()!.GetValue<string>().ShouldBe("description");

        DataOf(Map(new ArtifactRetagged(ArtifactId, ["x", "y"])))["tags"]!.AsArray().Count.ShouldBe(2);
        var content = Map(new ArtifactContentRevised(ArtifactId, "secret-looking body"));
        (content.Type, content.ContainerId, content.ContentType).ShouldBe(("artifact.updated", Workspace, "application/vnd.agience.tool+json"));
        DataOf(content).ToJsonString().ShouldNotContain("secret-looking body");
        DataOf(Map(new ArtifactContextChanged(ArtifactId, new JsonObject { ["url"] = "https://x" })))["changed"]!.AsArray().Single()!
            .GetValue<string>().ShouldBe("context");
        var targets = DataOf(Map(new WorkspaceTargetsChanged(Workspace, [Collection])));
        targets["targetCollectionIds"]!.AsArray().Single()!.GetValue<Guid>().ShouldBe(Collection);
    }

    [Fact]
    public void events_on_a_workspace_are_placed_in_the_workspace_itself()
    {
        var e = Map(new ArtifactRetitled(Workspace, "Renamed"));
        (e.ResourceId, e.ContainerId, e.ContentType).ShouldBe((Workspace, Workspace, "application/vnd.agience.workspace+json"));
    }

    [Fact]
    public void an_artifact_is_placed_where_it_was_at_the_time_of_the_event()
    {
        var facts = EventFacts.Of(artifacts: [(ArtifactId, "text/plain", Workspace)]);
        // A move at sequence 100 (as the facts' loader records it) changes the container of later events only.
        var moved = PublicEvents.From(Wrap(new ArtifactMoved(ArtifactId, Workspace, OtherWorkspace), sequence: 100),
            new MovedAt(facts, 100, OtherWorkspace))!;
        moved.Type.ShouldBe("artifact.moved");
        moved.ContainerId.ShouldBe(OtherWorkspace);
        DataOf(moved)["fromContainerId"]!.GetValue<Guid>().ShouldBe(Workspace);
        PublicEvents.From(Wrap(new ArtifactRetitled(ArtifactId, "before"), sequence: 99), new MovedAt(facts, 100, OtherWorkspace))!
            .ContainerId.ShouldBe(Workspace);
    }

    private sealed class MovedAt(IEventFacts inner, long sequence, Guid to) : IEventFacts
    {
        public Guid? ArtifactOfRun(Guid runId) => inner.ArtifactOfRun(runId);
        public Guid? ResourceOfGrant(Guid grantId) => inner.ResourceOfGrant(grantId);
        public ArtifactPlace? PlaceOf(Guid artifactId, long at) => at >= sequence ? inner.PlaceOf(artifactId, at)! with { ContainerId = to } : inner.PlaceOf(artifactId, at);
    }

    [Fact]
    public void archive_restore_checkout_revert_and_commit_map_to_their_types()
    {
        Map(new ArtifactArchived(ArtifactId)).Type.ShouldBe("artifact.archived");
        Map(new ArtifactRestored(ArtifactId)).Type.ShouldBe("artifact.restored");
        var copy = Guid.CreateVersion7();
        var checkedOut = Map(new ArtifactCheckedOut(copy, ArtifactId, OtherWorkspace, 2, "text/plain", "T", null, [], [], "body"));
        (checkedOut.Type, checkedOut.ResourceId, checkedOut.ContainerId, checkedOut.ContentType)
            .ShouldBe(("artifact.checked_out", copy, OtherWorkspace, "text/plain"));
        DataOf(Map(new ArtifactReverted(ArtifactId, 3, false, "T", null, [], [], "c")))["revision"]!.GetValue<int>().ShouldBe(3);

        var commit = Guid.CreateVersion7();
        var committed = Map(new ArtifactCommitted(ArtifactId, ArtifactId, ArtifactId, commit, 4, ChangeKind.Modified, Workspace, [Collection],
            "text/plain", "T", null, [], [], "the content"));
        committed.Type.ShouldBe("artifact.committed");
        var data = DataOf(committed);
        (data["commitId"]!.GetValue<Guid>(), data["revision"]!.GetValue<int>(), data["kind"]!.GetValue<string>()).ShouldBe((commit, 4, "modified"));
        data["collectionIds"]!.AsArray().Single()!.GetValue<Guid>().ShouldBe(Collection);
        data.ToJsonString().ShouldNotContain("the content");
    }

    [Fact]
    public void a_commit_is_commit_created_in_its_workspace_with_its_items()
    {
        var commit = Guid.CreateVersion7();
        var e = Map(new CommitRecorded(commit, Workspace, [Collection], User, [new CommitActor("apiKey", Guid.CreateVersion7())], "Ship it",
            [new CommitItem(ArtifactId, ArtifactId, "T", "text/plain", ChangeKind.Added, 0, 1)]));
        (e.Type, e.ResourceType, e.ResourceId, e.ContainerId, e.ContentType).ShouldBe(("commit.created", "commit", commit, Workspace, (string?)null));
        var data = DataOf(e);
        data["message"]!.GetValue<string>().ShouldBe("Ship it");
        data["items"]!.AsArray().Single()!["toRevision"]!.GetValue<int>().ShouldBe(1);
    }

    [Fact]
    public void run_events_name_the_run_and_its_artifact_and_leave_out_input_and_output()
    {
        var requested = Map(new RunRequested(RunId, ArtifactId, 7, "invoke", "http", JsonNode.Parse("""{"q":"the input"}"""), "async"));
        (requested.Type, requested.ResourceType, requested.ResourceId, requested.ContainerId, requested.ContentType)
            .ShouldBe(("run.requested", "run", RunId, Workspace, "application/vnd.agience.tool+json"));
        DataOf(requested).ToJsonString().ShouldNotContain("the input");

        DataOf(Map(new RunStarted(RunId, 2)))["attempt"]!.GetValue<int>().ShouldBe(2);
        var completed = Map(new RunCompleted(RunId, JsonNode.Parse("""{"answer":"the output"}""")));
        (completed.Type, DataOf(completed)["artifactId"]!.GetValue<Guid>()).ShouldBe(("run.completed", ArtifactId));
        DataOf(completed).ToJsonString().ShouldNotContain("the output");
        var failed = DataOf(Map(new RunFailed(RunId, new JsonObject { ["code"] = "upstream_error", ["status"] = 502, ["detail"] = "the upstream said x" })));
        (failed["code"]!.GetValue<string>(), failed["status"]!.GetValue<int>()).ShouldBe(("upstream_error", 502));
        failed.ToJsonString().ShouldNotContain("the upstream said");
        Map(new RunCancelled(RunId, new JsonObject { ["code"] = "run_cancelled" })).Type.ShouldBe("run.cancelled");
    }

    [Fact]
    public void approvals_are_requested_then_decided()
    {
        var approval = Guid.CreateVersion7();
        var requested = Map(new RunApprovalRequested(RunId, approval, At.AddHours(1)));
        (requested.Type, DataOf(requested)["approvalId"]!.GetValue<Guid>()).ShouldBe(("approval.requested", approval));
        DataOf(Map(new RunApproved(RunId, approval, "ok")))["decision"]!.GetValue<string>().ShouldBe("approved");
        DataOf(Map(new RunRejected(RunId, approval, "no")))["decision"]!.GetValue<string>().ShouldBe("rejected");
        DataOf(Map(new RunExpired(RunId, approval)))["decision"]!.GetValue<string>().ShouldBe("expired");
    }

    [Fact]
    public void a_run_whose_artifact_is_unknown_maps_to_nothing_rather_than_a_wrong_resource()
    {
        PublicEvents.From(Wrap(new RunStarted(Guid.CreateVersion7(), 1)), Facts).ShouldBeNull();
    }

    [Fact]
    public void progress_of_a_run_in_flight_is_internal_only()
    {
        PublicEvents.From(Wrap(new RunOutputDelta(RunId, "tok")), Facts).ShouldBeNull();
        PublicEvents.From(Wrap(new RunAttemptFailed(RunId, 1, [], 100)), Facts).ShouldBeNull();
        PublicEvents.From(Wrap(new RunProgressed(RunId, 0.5, 1, null)), Facts).ShouldBeNull();
    }

    [Fact]
    public void grants_are_placed_on_the_resource_they_are_on_and_never_carry_an_invite_token_or_email()
    {
        var issued = Map(new GrantIssued(GrantId, Workspace, GranteeType.Invite, null, Permission.Read | Permission.Update, GrantEffect.Allow, null,
            InviteTokenHash: "the-token-hash", MaxClaims: 3, InviteEmail: "someone@example.com"));
        (issued.Type, issued.ResourceType, issued.ResourceId, issued.ContainerId).ShouldBe(("grant.issued", "grant", GrantId, Workspace));
        var data = DataOf(issued);
        data["permissions"]!.AsArray().Select(p => p!.GetValue<string>()).ShouldBe(["read", "update"]);
        (data["granteeType"]!.GetValue<string>(), data["effect"]!.GetValue<string>()).ShouldBe(("invite", "allow"));
        data.ToJsonString().ShouldNotContain("the-token-hash");
        data.ToJsonString().ShouldNotContain("someone@example.com");

        var revoked = Map(new GrantRevoked(GrantId));
        (revoked.Type, revoked.ContainerId, DataOf(revoked)["resourceId"]!.GetValue<Guid>()).ShouldBe(("grant.revoked", Workspace, Workspace));
        var claimed = DataOf(Map(new InviteClaimed(GrantId, User, Guid.CreateVersion7())));
        claimed["userId"]!.GetValue<Guid>().ShouldBe(User);
    }

    [Fact]
    public void credentials_secrets_and_platform_changes_map_without_material()
    {
        var key = Guid.CreateVersion7();
        var issued = Map(new ApiKeyIssued(key, User, "ci", ["artifact:*/*:read"], null, null));
        (issued.Type, issued.ResourceType, issued.ResourceId, issued.ContainerId).ShouldBe(("api_key.issued", "api_key", key, (Guid?)null));
        DataOf(issued)["scopes"]!.AsArray().Single()!.GetValue<string>().ShouldBe("artifact:*/*:read");
        Map(new ApiKeyRenamed(key, "n")).Type.ShouldBe("api_key.renamed");
        Map(new ApiKeyRotated(key, At)).Type.ShouldBe("api_key.rotated");
        Map(new ApiKeyRevoked(key)).Type.ShouldBe("api_key.revoked");
        var server = Guid.CreateVersion7();
        Map(new ServerCredentialIssued(server, "s", ["artifact:*/*:read"])).ResourceType.ShouldBe("server_credential");
        Map(new ServerCredentialRotated(server, At)).Type.ShouldBe("server_credential.rotated");
        Map(new ServerCredentialRevoked(server)).Type.ShouldBe("server_credential.revoked");
        var secret = Guid.CreateVersion7();
        var created = Map(new SecretCreated(secret, User, "OPENAI_KEY", null));
        (created.Type, DataOf(created)["name"]!.GetValue<string>()).ShouldBe(("secret.created", "OPENAI_KEY"));
        Map(new SecretDeleted(secret)).Type.ShouldBe("secret.deleted");
        var settings = Map(new PlatformSettingsChanged(Guid.CreateVersion7(), RegistrationEnabled: false));
        (settings.Type, settings.ResourceType).ShouldBe(("platform.settings_changed", "platform"));
        DataOf(settings)["changed"]!.AsArray().Single()!.GetValue<string>().ShouldBe("registrationEnabled");
        Map(new UserPlatformAdminGranted(User)).Type.ShouldBe("platform.admin_granted");
        Map(new UserPlatformAdminRevoked(User)).Type.ShouldBe("platform.admin_revoked");
    }

    [Fact]
    public void the_actor_is_the_user_the_key_with_its_owner_the_server_or_the_system()
    {
        var key = Guid.CreateVersion7();
        var server = Guid.CreateVersion7();
        var data = new ArtifactRetitled(ArtifactId, "x");
        PublicEvents.From(Wrap(data), Facts)!.Actor.ShouldBe(new EventActor("user", User, null, null));
        PublicEvents.From(Wrap(data, credential: $"apiKey:{key}"), Facts)!.Actor.ShouldBe(new EventActor("api_key", User, key, null));
        PublicEvents.From(Wrap(data, user: server.ToString(), credential: $"server:{server}"), Facts)!.Actor
            .ShouldBe(new EventActor("server", null, null, server));
        PublicEvents.From(Wrap(data, user: ""), Facts)!.Actor.ShouldBe(EventActor.TheSystem);
        PublicEvents.From(Wrap(data, credential: "garbage"), Facts)!.Actor.Type.ShouldBe("user");
    }

    [Fact]
    public void the_trace_id_is_the_correlation_id_when_recorded()
    {
        PublicEvents.From(Wrap(new ArtifactArchived(ArtifactId), trace: "4bf92f3577b34da6a3ce929d0e0e4736"), Facts)!.TraceId
            .ShouldBe("4bf92f3577b34da6a3ce929d0e0e4736");
        PublicEvents.From(Wrap(new ArtifactArchived(ArtifactId)), Facts)!.TraceId.ShouldBeNull();
    }

    [Fact]
    public void every_public_type_in_the_catalogue_is_produced_by_some_internal_event()
    {
        var produced = InternalEventTypes().Select(t => PublicEvents.From(Wrap(Sample(t)), Permissive.Instance)?.Type).OfType<string>().ToHashSet();
        PublicEvents.Catalogue.Keys.Where(k => !produced.Contains(k)).ShouldBeEmpty();
        produced.Where(p => !PublicEvents.Catalogue.ContainsKey(p)).ShouldBeEmpty();
    }

    /// <summary>
    /// Every internal event type of the service, filled with values where anything that looks like key material, a hash, a
    /// token, a password or an invite's e-mail address is a marker: each maps to a public event (or is deliberately internal-only),
    /// and no marker, internal class name or material-like member ever appears in what is published.
    /// </summary>
    [Fact]
    public void no_internal_event_publishes_secrets_key_material_hashes_or_class_names()
    {
        var types = InternalEventTypes();
        types.Count.ShouldBeGreaterThan(40);
        foreach (var type in types)
        {
            var e = PublicEvents.From(Wrap(Sample(type)), Permissive.Instance);
            if (PublicEvents.InternalOnly.Contains(type))
            {
                e.ShouldBeNull($"{type.Name} is internal-only");
                continue;
            }
            e.ShouldNotBeNull($"{type.Name} maps to no public event and is not declared internal-only");
            PublicEvents.Catalogue.ContainsKey(e.Type).ShouldBeTrue($"{e.Type} is not in the catalogue");
            PublicEvents.Catalogue[e.Type].ShouldBe(e.Data.GetType());
            var json = JsonSerializer.Serialize(e, WolverineHttpSetup.Json);
            json.ShouldNotContain("LEAK", Case.Sensitive, $"{type.Name} publishes a secret-like value");
            json.ShouldNotContain(type.Name, Case.Sensitive, $"{type.Name} publishes its class name");
            json.ShouldNotContain("AgentArtifacts", Case.Insensitive);
            foreach (var name in PropertyNames(JsonNode.Parse(json)!))
            {
                Regex.IsMatch(name, "hash|password|ciphertext|material|email|^secret$|^token$|verifier", RegexOptions.IgnoreCase)
                    .ShouldBeFalse($"{type.Name} publishes a member named {name}");
            }
        }
    }

    /// <summary>
    /// The service's internal event types: every type an aggregate or projection folds (<c>IEvent&lt;T&gt;</c> and <c>Apply(T)</c>
    /// parameters), every past-tense record whose first member is an id (how events are written here), and the internal-only ones.
    /// </summary>
    private static IReadOnlyList<Type> InternalEventTypes()
    {
        var assembly = typeof(PublicEvents).Assembly;
        var folded = assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .SelectMany(m => m.GetParameters())
            .Select(p => p.ParameterType)
            .Select(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IEvent<>) ? t.GetGenericArguments()[0] : null)
            .OfType<Type>();
        var recorded = assembly.GetTypes().Where(t => t is { IsPublic: true, IsSealed: true } && t.GetMethod("<Clone>$") is not null
            && Regex.IsMatch(t.Name, "(ed|Out)$")
            && t.GetConstructors().Any(c => c.GetParameters() is [{ ParameterType: var first }, ..] && first == typeof(Guid)));
        return folded.Concat(recorded).Concat(PublicEvents.InternalOnly).Where(t => t.Assembly == assembly).Distinct().OrderBy(t => t.Name).ToList();
    }

    private static IEnumerable<string> PropertyNames(JsonNode node) => node switch
    {
        JsonObject o => o.SelectMany(p => new[] { p.Key }.Concat(p.Value is null ? [] : PropertyNames(p.Value))),
        JsonArray a => a.OfType<JsonNode>().SelectMany(PropertyNames),
        _ => [],
    };

    private static object Sample(Type type)
    {
        var constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        return constructor.Invoke(constructor.GetParameters().Select(p => Value(p.ParameterType, p.Name!)).ToArray());
    }

    private static bool LooksSecret(string name) => Regex.IsMatch(name, "hash|secret(?!id)|token|password|email|material|key(?!id)", RegexOptions.IgnoreCase);

    private static object? Value(Type type, string name)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(string)) return LooksSecret(name) ? $"LEAK-{name}" : $"value-of-{name}";
        if (underlying == typeof(Guid)) return Guid.CreateVersion7();
        if (underlying == typeof(int)) return 3;
        if (underlying == typeof(long)) return 5L;
        if (underlying == typeof(double)) return 0.5;
        if (underlying == typeof(bool)) return true;
        if (underlying == typeof(DateTimeOffset)) return At;
        if (underlying == typeof(Permission)) return Permission.Read;
        if (underlying.IsEnum) return Enum.GetValues(underlying).GetValue(0);
        if (underlying == typeof(JsonObject)) return new JsonObject { ["code"] = "some_code", ["apiKey"] = "LEAK-json" };
        if (underlying == typeof(JsonNode)) return JsonNode.Parse("""{"authorization":"LEAK-json"}""");
        if (underlying == typeof(Caller)) return new Caller(User, Caller.ApiKey, false) { ApiKeyId = Guid.CreateVersion7() };
        if (underlying == typeof(string[]) || underlying == typeof(IReadOnlyList<string>)) return new[] { $"value-of-{name}" };
        if (underlying == typeof(IReadOnlyList<Guid>)) return new[] { Guid.CreateVersion7() };
        if (underlying == typeof(IReadOnlyList<CommitItem>)) return new[] { new CommitItem(Guid.CreateVersion7(), Guid.CreateVersion7(), "t", "text/plain", ChangeKind.Added, 0, 1) };
        if (underlying == typeof(IReadOnlyList<CommitActor>)) return new[] { new CommitActor("user", User) };
        throw new InvalidOperationException($"No sample value for {type} ({name}): add one, so the test covers the new event.");
    }

    /// <summary>Facts that know every run, grant and artifact.</summary>
    private sealed class Permissive : IEventFacts
    {
        public static readonly Permissive Instance = new();
        public Guid? ArtifactOfRun(Guid runId) => ArtifactId;
        public Guid? ResourceOfGrant(Guid grantId) => Workspace;
        public ArtifactPlace? PlaceOf(Guid artifactId, long sequence) => new(Workspace, "text/plain");
    }
}
