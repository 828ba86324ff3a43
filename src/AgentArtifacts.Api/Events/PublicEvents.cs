using JasperFx.Events;
using Marten;
using Marten.Events;
using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Commits;
using AgentArtifacts.Api.Grants;
using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.Platform;
using AgentArtifacts.Api.Runs;
using AgentArtifacts.Api.ServerCredentials;
using AgentArtifacts.Api.StoredSecrets;

namespace AgentArtifacts.Api.Events;

/// <summary>Where an artifact was at some point of the log: its container then, and its content type (which never changes).</summary>
/// <param name="ContainerId">The workspace holding it then; for a workspace or collection itself, its own id.</param>
public sealed record ArtifactPlace(Guid? ContainerId, string ContentType);

/// <summary>What an internal event alone does not say, looked up for a batch of events (<see cref="EventFacts"/>).</summary>
public interface IEventFacts
{
    /// <summary>The artifact a run runs.</summary>
    Guid? ArtifactOfRun(Guid runId);
    /// <summary>The resource a grant is on.</summary>
    Guid? ResourceOfGrant(Guid grantId);
    /// <summary>Where the artifact was just after the event at <paramref name="sequence"/>; null when unknown.</summary>
    ArtifactPlace? PlaceOf(Guid artifactId, long sequence);
}

/// <summary>
/// The one mapping from internal events to public events, used by the feed, webhooks and the audit log alike. An internal event
/// maps to one public event or to none (progress of a run in flight, which <c>GET /runs/{id}/events</c> streams). Payloads carry
/// ids and what changed; never internal class names, secrets, key material, invite tokens or password hashes.
/// </summary>
public static class PublicEvents
{
    /// <summary>Internal events that are deliberately not published: a run's progress while it executes.</summary>
    public static readonly IReadOnlySet<Type> InternalOnly = new HashSet<Type>
    {
        typeof(RunAttemptFailed), typeof(RunOutputDelta), typeof(RunProgressed), typeof(RunToolCalled), typeof(RunToolReturned),
    };

    /// <summary>Every public event type, with the internal events that map to it (docs/events.md describes each).</summary>
    public static readonly IReadOnlyDictionary<string, Type> Catalogue = new Dictionary<string, Type>
    {
        ["artifact.created"] = typeof(ArtifactCreatedData),
        ["artifact.checked_out"] = typeof(ArtifactCheckedOutData),
        ["artifact.updated"] = typeof(ArtifactUpdatedData),
        ["artifact.archived"] = typeof(ArtifactStateData),
        ["artifact.restored"] = typeof(ArtifactStateData),
        ["artifact.moved"] = typeof(ArtifactMovedData),
        ["artifact.committed"] = typeof(ArtifactCommittedData),
        ["artifact.reverted"] = typeof(ArtifactRevertedData),
        ["commit.created"] = typeof(CommitCreatedData),
        ["run.requested"] = typeof(RunRequestedData),
        ["run.started"] = typeof(RunStartedData),
        ["run.completed"] = typeof(RunCompletedData),
        ["run.failed"] = typeof(RunEndedData),
        ["run.cancelled"] = typeof(RunEndedData),
        ["approval.requested"] = typeof(ApprovalRequestedData),
        ["approval.decided"] = typeof(ApprovalDecidedData),
        ["grant.issued"] = typeof(GrantIssuedData),
        ["grant.revoked"] = typeof(GrantRevokedData),
        ["invite.claimed"] = typeof(InviteClaimedData),
        ["api_key.issued"] = typeof(ApiKeyIssuedData),
        ["api_key.renamed"] = typeof(ApiKeyRenamedData),
        ["api_key.rotated"] = typeof(CredentialRotatedData),
        ["api_key.revoked"] = typeof(CredentialRevokedData),
        ["server_credential.issued"] = typeof(ServerCredentialIssuedData),
        ["server_credential.rotated"] = typeof(CredentialRotatedData),
        ["server_credential.revoked"] = typeof(CredentialRevokedData),
        ["secret.created"] = typeof(SecretCreatedData),
        ["secret.deleted"] = typeof(SecretDeletedData),
        ["platform.settings_changed"] = typeof(PlatformSettingsChangedData),
        ["platform.admin_granted"] = typeof(PlatformAdminData),
        ["platform.admin_revoked"] = typeof(PlatformAdminData),
        ["webhook.created"] = typeof(Webhooks.WebhookCreatedData),
        ["webhook.updated"] = typeof(Webhooks.WebhookUpdatedData),
        ["webhook.secret_rotated"] = typeof(Webhooks.WebhookSecretRotatedData),
        ["webhook.disabled"] = typeof(Webhooks.WebhookDisabledData),
        ["webhook.enabled"] = typeof(Webhooks.WebhookStateData),
        ["webhook.deleted"] = typeof(Webhooks.WebhookStateData),
    };

    /// <summary>The public event for an internal one, or null when it is internal-only.</summary>
    public static PublicEvent? From(IEvent e, IEventFacts facts)
    {
        if (Describe(e.Data, facts) is not { } shape) return null;
        var place = shape.PlacedBy is { } artifactId ? facts.PlaceOf(artifactId, e.Sequence) : null;
        return new PublicEvent(e.Sequence, shape.Type, e.Timestamp, ActorOf(e), shape.ResourceType, shape.ResourceId,
            shape.ContainerId ?? place?.ContainerId, shape.ContentType ?? place?.ContentType, TraceOf(e), shape.Data);
    }

    /// <summary>The public events for a batch of internal events, in their order (internal-only ones left out). Two queries at most.</summary>
    public static async Task<IReadOnlyList<PublicEvent>> ReadAsync(this IQuerySession session, IReadOnlyList<IEvent> events, CancellationToken ct)
    {
        var facts = await EventFacts.LoadAsync(session, events, ct);
        return events.Select(e => From(e, facts)).OfType<PublicEvent>().ToList();
    }

    /// <summary>Who did it, as the event's metadata records: the principal (user name) and the credential used (a header).</summary>
    public static EventActor ActorOf(IEvent e)
    {
        var credential = e.Headers?.TryGetValue(ActorMiddleware.CredentialHeader, out var value) == true ? value?.ToString() : null;
        var principal = Guid.TryParse(e.UserName, out var id) ? id : (Guid?)null;
        return ActorMiddleware.ParseCredential(credential) switch
        {
            (Caller.ApiKey, var key) => new EventActor(EventActor.ApiKey, principal, key, null),
            (Caller.Server, var server) => new EventActor(EventActor.Server, null, null, server),
            _ when principal is { } user && user != Guid.Empty => new EventActor(EventActor.User, user, null, null),
            _ => EventActor.TheSystem,
        };
    }

    private static string? TraceOf(IEvent e) => string.IsNullOrEmpty(e.CorrelationId) ? null : e.CorrelationId;

    /// <summary>What the internal event says: its public type, resource and payload, and which artifact places it.</summary>
    private sealed record Shape(string Type, string ResourceType, Guid ResourceId, object Data)
    {
        /// <summary>The artifact whose container and content type the event takes, when the event itself does not say.</summary>
        public Guid? PlacedBy { get; init; }
        public Guid? ContainerId { get; init; }
        public string? ContentType { get; init; }
    }

    private static Shape Artifact(string type, Guid artifactId, object data) =>
        new(type, ResourceTypes.Artifact, artifactId, data) { PlacedBy = artifactId };

    private static Shape Run(string type, Guid runId, Guid? artifactId, object data) =>
        new(type, ResourceTypes.Run, runId, data) { PlacedBy = artifactId };

    private static Shape Grant(string type, Guid grantId, Guid? resourceId, object data) =>
        new(type, ResourceTypes.Grant, grantId, data) { PlacedBy = resourceId };

    private static Shape? Describe(object data, IEventFacts facts) => data switch
    {
        ArtifactCreated c => Artifact("artifact.created", c.ArtifactId,
            new ArtifactCreatedData(c.ArtifactId, c.ContainerId, c.ContentType, c.Title, c.Description, c.Tags)) with
        {
            ContainerId = c.ContainerId ?? c.ArtifactId, ContentType = c.ContentType,
        },
        ArtifactCheckedOut c => Artifact("artifact.checked_out", c.ArtifactId,
            new ArtifactCheckedOutData(c.ArtifactId, c.OriginId, c.WorkspaceId, c.BaseRevision, c.ContentType, c.Title)) with
        {
            ContainerId = c.WorkspaceId, ContentType = c.ContentType,
        },
        ArtifactRetitled c => Artifact("artifact.updated", c.ArtifactId, new ArtifactUpdatedData(c.ArtifactId, ["title"], c.Title, null, null, null)),
        ArtifactDescribed c => Artifact("artifact.updated", c.ArtifactId,
            new ArtifactUpdatedData(c.ArtifactId, ["description"], null, c.Description, null, null)),
        ArtifactRetagged c => Artifact("artifact.updated", c.ArtifactId, new ArtifactUpdatedData(c.ArtifactId, ["tags"], null, null, c.Tags, null)),
        ArtifactContextChanged c => Artifact("artifact.updated", c.ArtifactId, new ArtifactUpdatedData(c.ArtifactId, ["context"], null, null, null, null)),
        ArtifactContentRevised c => Artifact("artifact.updated", c.ArtifactId, new ArtifactUpdatedData(c.ArtifactId, ["content"], null, null, null, null)),
        WorkspaceTargetsChanged c => Artifact("artifact.updated", c.ArtifactId,
            new ArtifactUpdatedData(c.ArtifactId, ["targetCollectionIds"], null, null, null, c.CollectionIds)),
        ArtifactArchived c => Artifact("artifact.archived", c.ArtifactId, new ArtifactStateData(c.ArtifactId)),
        ArtifactRestored c => Artifact("artifact.restored", c.ArtifactId, new ArtifactStateData(c.ArtifactId)),
        ArtifactMoved c => Artifact("artifact.moved", c.ArtifactId, new ArtifactMovedData(c.ArtifactId, c.FromContainerId, c.ToContainerId)),
        ArtifactCommitted c => Artifact("artifact.committed", c.ArtifactId, new ArtifactCommittedData(c.ArtifactId, c.LineId, c.SourceId, c.CommitId,
            c.Revision, c.Kind, c.WorkspaceId, c.CollectionIds, c.Title)),
        ArtifactReverted c => Artifact("artifact.reverted", c.ArtifactId, new ArtifactRevertedData(c.ArtifactId, c.Revision, c.Archived)),

        CommitRecorded c => new Shape("commit.created", ResourceTypes.Commit, c.CommitId, new CommitCreatedData(c.CommitId, c.WorkspaceId,
            c.CollectionIds, c.AuthorId, c.Message,
            c.Items.Select(i => new CommitItemData(i.ArtifactId, i.DraftId, i.Title, i.ContentType, i.Kind, i.FromRevision, i.ToRevision)).ToList()))
        {
            ContainerId = c.WorkspaceId,
        },

        RunRequested r => Run("run.requested", r.RunId, r.ArtifactId,
            new RunRequestedData(r.RunId, r.ArtifactId, r.Operation, r.Kind, r.Mode, r.Revision, r.ParentRunId)),
        RunStarted r => RunOf(facts, r.RunId, artifact => ("run.started", new RunStartedData(r.RunId, artifact, r.Attempt))),
        RunCompleted r => RunOf(facts, r.RunId, artifact => ("run.completed", new RunCompletedData(r.RunId, artifact))),
        RunFailed r => RunOf(facts, r.RunId, artifact => ("run.failed", Ended(r.RunId, artifact, r.Error))),
        RunCancelled r => RunOf(facts, r.RunId, artifact => ("run.cancelled", Ended(r.RunId, artifact, r.Error))),
        RunApprovalRequested r => RunOf(facts, r.RunId,
            artifact => ("approval.requested", new ApprovalRequestedData(r.ApprovalId, r.RunId, artifact, r.ExpiresAt))),
        RunApproved r => RunOf(facts, r.RunId,
            artifact => ("approval.decided", new ApprovalDecidedData(r.ApprovalId, r.RunId, artifact, "approved", r.Note))),
        RunRejected r => RunOf(facts, r.RunId,
            artifact => ("approval.decided", new ApprovalDecidedData(r.ApprovalId, r.RunId, artifact, "rejected", r.Note))),
        RunExpired r => RunOf(facts, r.RunId,
            artifact => ("approval.decided", new ApprovalDecidedData(r.ApprovalId, r.RunId, artifact, "expired", null))),

        GrantIssued g => Grant("grant.issued", g.GrantId, g.ResourceId, new GrantIssuedData(g.GrantId, g.ResourceId, g.GranteeType, g.GranteeId,
            PermissionNames.Of(g.Permissions), g.Effect, g.ExpiresAt, g.ClaimedFrom)),
        GrantRevoked g => facts.ResourceOfGrant(g.GrantId) is { } on
            ? Grant("grant.revoked", g.GrantId, on, new GrantRevokedData(g.GrantId, on)) : null,
        InviteClaimed g => facts.ResourceOfGrant(g.GrantId) is { } on
            ? Grant("invite.claimed", g.GrantId, on, new InviteClaimedData(g.GrantId, on, g.UserId, g.UserGrantId)) : null,

        ApiKeyIssued k => new Shape("api_key.issued", ResourceTypes.ApiKey, k.KeyId,
            new ApiKeyIssuedData(k.KeyId, k.OwnerId, k.Name, k.Scopes, k.ResourceIds, k.ExpiresAt)),
        ApiKeyRenamed k => new Shape("api_key.renamed", ResourceTypes.ApiKey, k.KeyId, new ApiKeyRenamedData(k.KeyId, k.Name)),
        ApiKeyRotated k => new Shape("api_key.rotated", ResourceTypes.ApiKey, k.KeyId, new CredentialRotatedData(k.KeyId, k.PreviousSecretValidUntil)),
        ApiKeyRevoked k => new Shape("api_key.revoked", ResourceTypes.ApiKey, k.KeyId, new CredentialRevokedData(k.KeyId)),

        ServerCredentialIssued s => new Shape("server_credential.issued", ResourceTypes.ServerCredential, s.ClientId,
            new ServerCredentialIssuedData(s.ClientId, s.Name, s.Scopes)),
        ServerCredentialRotated s => new Shape("server_credential.rotated", ResourceTypes.ServerCredential, s.ClientId,
            new CredentialRotatedData(s.ClientId, s.PreviousSecretValidUntil)),
        ServerCredentialRevoked s => new Shape("server_credential.revoked", ResourceTypes.ServerCredential, s.ClientId,
            new CredentialRevokedData(s.ClientId)),

        SecretCreated s => new Shape("secret.created", ResourceTypes.Secret, s.SecretId, new SecretCreatedData(s.SecretId, s.OwnerId, s.Name, s.Description)),
        SecretDeleted s => new Shape("secret.deleted", ResourceTypes.Secret, s.SecretId, new SecretDeletedData(s.SecretId)),

        PlatformSettingsChanged p => new Shape("platform.settings_changed", ResourceTypes.Platform, p.SettingsId, SettingsChanged(p)),
        UserPlatformAdminGranted p => new Shape("platform.admin_granted", ResourceTypes.Platform, p.UserId, new PlatformAdminData(p.UserId)),
        UserPlatformAdminRevoked p => new Shape("platform.admin_revoked", ResourceTypes.Platform, p.UserId, new PlatformAdminData(p.UserId)),

        Webhooks.WebhookCreated w => new Shape("webhook.created", ResourceTypes.Webhook, w.WebhookId,
            new Webhooks.WebhookCreatedData(w.WebhookId, w.Types, w.ContainerId)),
        Webhooks.WebhookChanged w => new Shape("webhook.updated", ResourceTypes.Webhook, w.WebhookId, new Webhooks.WebhookUpdatedData(w.WebhookId,
            [.. w.Url is null ? [] : new[] { "url" }, .. w.Types is null && !w.ClearTypes ? [] : new[] { "types" },
             .. w.ContainerId is null && !w.ClearContainer ? [] : new[] { "containerId" }, .. w.Description is null ? [] : new[] { "description" }],
            w.Types, w.ContainerId)),
        Webhooks.WebhookSecretRotated w => new Shape("webhook.secret_rotated", ResourceTypes.Webhook, w.WebhookId,
            new Webhooks.WebhookSecretRotatedData(w.WebhookId, w.PreviousSecretValidUntil)),
        Webhooks.WebhookDisabled w => new Shape("webhook.disabled", ResourceTypes.Webhook, w.WebhookId,
            new Webhooks.WebhookDisabledData(w.WebhookId, w.FailingSince, w.Reason)),
        Webhooks.WebhookEnabled w => new Shape("webhook.enabled", ResourceTypes.Webhook, w.WebhookId, new Webhooks.WebhookStateData(w.WebhookId)),
        Webhooks.WebhookDeleted w => new Shape("webhook.deleted", ResourceTypes.Webhook, w.WebhookId, new Webhooks.WebhookStateData(w.WebhookId)),

        _ => null,
    };

    private static Shape? RunOf(IEventFacts facts, Guid runId, Func<Guid, (string Type, object Data)> describe)
    {
        // A run's later events name only the run; its first names the artifact, which the facts looked up.
        if (facts.ArtifactOfRun(runId) is not { } artifact) return null;
        var (type, data) = describe(artifact);
        return Run(type, runId, artifact, data);
    }

    private static RunEndedData Ended(Guid runId, Guid artifactId, System.Text.Json.Nodes.JsonObject error) =>
        new(runId, artifactId, error["code"]?.GetValueKind() == System.Text.Json.JsonValueKind.String ? error["code"]!.GetValue<string>() : null,
            error["status"]?.GetValueKind() == System.Text.Json.JsonValueKind.Number ? error["status"]!.GetValue<int>() : null);

    private static PlatformSettingsChangedData SettingsChanged(PlatformSettingsChanged p)
    {
        var changed = new List<string>();
        if (p.RegistrationEnabled is not null) changed.Add("registrationEnabled");
        if (p.RateLimitPermitLimit is not null) changed.Add("rateLimitPermitLimit");
        if (p.RateLimitWindowSeconds is not null) changed.Add("rateLimitWindowSeconds");
        if (p.TokenPermitLimit is not null) changed.Add("tokenPermitLimit");
        if (p.AccessTokenLifetimeMinutes is not null) changed.Add("accessTokenLifetimeMinutes");
        if (p.RefreshTokenLifetimeDays is not null) changed.Add("refreshTokenLifetimeDays");
        if (p.EgressAllowedHosts is not null) changed.Add("egressAllowedHosts");
        return new PlatformSettingsChangedData(changed, p.RegistrationEnabled, p.RateLimitPermitLimit, p.RateLimitWindowSeconds, p.TokenPermitLimit,
            p.AccessTokenLifetimeMinutes, p.RefreshTokenLifetimeDays, p.EgressAllowedHosts);
    }
}

/// <summary>
/// The facts a batch of events needs, looked up in at most three queries: the runs' artifacts (run snapshots), the grants'
/// resources (grant snapshots), and where each artifact involved was over time (its creation and move events).
/// </summary>
public sealed class EventFacts : IEventFacts
{
    private readonly Dictionary<Guid, Guid> _runArtifacts = [];
    private readonly Dictionary<Guid, Guid> _grantResources = [];
    private readonly Dictionary<Guid, string> _contentTypes = [];
    /// <summary>Per artifact, its containers from each placing event on: (sequence, container), in sequence order.</summary>
    private readonly Dictionary<Guid, List<(long Sequence, Guid? Container)>> _containers = [];

    public Guid? ArtifactOfRun(Guid runId) => _runArtifacts.TryGetValue(runId, out var a) ? a : null;
    public Guid? ResourceOfGrant(Guid grantId) => _grantResources.TryGetValue(grantId, out var r) ? r : null;

    public ArtifactPlace? PlaceOf(Guid artifactId, long sequence)
    {
        if (!_contentTypes.TryGetValue(artifactId, out var contentType)) return null;
        if (contentType is Types.TypeRegistry.Workspace or Types.TypeRegistry.Collection) return new ArtifactPlace(artifactId, contentType);
        var history = _containers[artifactId];
        // The last placing event at or before the sequence; an event before the creation (never) falls back to the first.
        var at = history.LastOrDefault(h => h.Sequence <= sequence, history[0]);
        return new ArtifactPlace(at.Container, contentType);
    }

    public static async Task<EventFacts> LoadAsync(IQuerySession session, IReadOnlyList<IEvent> events, CancellationToken ct)
    {
        var facts = new EventFacts();
        foreach (var e in events)
        {
            if (e.Data is RunRequested requested) facts._runArtifacts[requested.RunId] = requested.ArtifactId;
            if (e.Data is GrantIssued issued) facts._grantResources[issued.GrantId] = issued.ResourceId;
        }

        var runs = events.Select(e => e.Data).OfType<object>().Select(RunIdOf).OfType<Guid>().Where(id => !facts._runArtifacts.ContainsKey(id)).Distinct().ToList();
        var grants = events.Select(e => e.Data switch { GrantRevoked g => g.GrantId, InviteClaimed g => g.GrantId, _ => (Guid?)null })
            .OfType<Guid>().Where(id => !facts._grantResources.ContainsKey(id)).Distinct().ToList();
        if (runs.Count > 0 || grants.Count > 0)
        {
            var batch = session.CreateBatchQuery();
            var runsLoading = runs.Count > 0 ? batch.LoadMany<Run>().ById(runs.ToArray()) : Task.FromResult<IReadOnlyList<Run>>([]);
            var grantsLoading = grants.Count > 0 ? batch.LoadMany<Grant>().ById(grants.ToArray()) : Task.FromResult<IReadOnlyList<Grant>>([]);
            await batch.Execute(ct);
            foreach (var run in await runsLoading) facts._runArtifacts[run.Id] = run.ArtifactId;
            foreach (var grant in await grantsLoading) facts._grantResources[grant.Id] = grant.ResourceId;
        }

        var artifacts = events.Where(e => e.Data is ArtifactCreated or ArtifactCheckedOut || e.Data.GetType().Namespace == typeof(ArtifactCreated).Namespace)
            .Select(e => e.StreamId)
            .Concat(facts._runArtifacts.Values).Concat(facts._grantResources.Values).Distinct().ToArray();
        if (artifacts.Length == 0) return facts;
        var placing = await session.Events.QueryAllRawEvents()
            .Where(e => e.StreamId.IsOneOf(artifacts) && e.EventTypesAre(typeof(ArtifactCreated), typeof(ArtifactCheckedOut), typeof(ArtifactMoved)))
            .OrderBy(e => e.Sequence).ToListAsync(ct);
        foreach (var e in placing)
        {
            switch (e.Data)
            {
                case ArtifactCreated c:
                    facts._contentTypes[c.ArtifactId] = c.ContentType;
                    facts.Placed(c.ArtifactId, e.Sequence, c.ContainerId);
                    break;
                case ArtifactCheckedOut c:
                    facts._contentTypes[c.ArtifactId] = c.ContentType;
                    facts.Placed(c.ArtifactId, e.Sequence, c.WorkspaceId);
                    break;
                case ArtifactMoved m:
                    facts.Placed(m.ArtifactId, e.Sequence, m.ToContainerId);
                    break;
            }
        }
        return facts;
    }

    private void Placed(Guid artifactId, long sequence, Guid? container)
    {
        if (!_containers.TryGetValue(artifactId, out var history)) _containers[artifactId] = history = [];
        history.Add((sequence, container));
    }

    private static Guid? RunIdOf(object data) => data switch
    {
        RunStarted r => r.RunId,
        RunCompleted r => r.RunId,
        RunFailed r => r.RunId,
        RunCancelled r => r.RunId,
        RunApprovalRequested r => r.RunId,
        RunApproved r => r.RunId,
        RunRejected r => r.RunId,
        RunExpired r => r.RunId,
        _ => null,
    };

    /// <summary>Facts given directly (decision tests, and callers that know them).</summary>
    public static EventFacts Of(IEnumerable<(Guid Run, Guid Artifact)>? runs = null, IEnumerable<(Guid Grant, Guid Resource)>? grants = null,
        IEnumerable<(Guid Artifact, string ContentType, Guid? Container)>? artifacts = null)
    {
        var facts = new EventFacts();
        foreach (var (run, artifact) in runs ?? []) facts._runArtifacts[run] = artifact;
        foreach (var (grant, resource) in grants ?? []) facts._grantResources[grant] = resource;
        foreach (var (artifact, contentType, container) in artifacts ?? [])
        {
            facts._contentTypes[artifact] = contentType;
            facts.Placed(artifact, 0, container);
        }
        return facts;
    }
}
