using Marten;
using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Grants;
using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.Runs;
using AgentArtifacts.Api.StoredSecrets;

namespace AgentArtifacts.Api.Events;

/// <summary>
/// The one decision of which public events a principal may read now, shared by the feed, webhooks and the audit log. It asks
/// the rules REST asks, at the time of asking (so a revoked grant hides events at once, past ones included), never a rule of
/// its own:
/// <list type="bullet">
/// <item>artifact events: the caller may read the artifact (<c>GET /artifacts/{id}</c>: grants on it or its container, deny
/// wins, a key's scopes and resource list); an <c>artifact.committed</c> also to the readers of a collection it published into;</item>
/// <item><c>commit.created</c>: readers of its workspace (<c>GET /commits/{id}</c>) or of a collection it published into
/// (<c>GET /collections/{id}/commits</c>);</item>
/// <item>run events: the principal that requested the run (<c>GET /runs/{id}</c>); approvals also to the users who may decide
/// them (admin on the artifact, as <c>GET /approvals</c>);</item>
/// <item>grant events: the grantee, the issuer and whoever may list the resource's grants (<c>GET /grants/{id}</c>);</item>
/// <item>API keys and secrets: their owner (a key or server: secrets only with a scope that reads them);
/// server credentials and platform events: platform admins.</item>
/// </list>
/// </summary>
public static class EventVisibility
{
    /// <summary>Of <paramref name="events"/>, those the caller may read now, in their order. A few queries per batch, not per event.</summary>
    public static async Task<IReadOnlyList<PublicEvent>> VisibleAsync(this IQuerySession session, Caller caller, IReadOnlyList<PublicEvent> events,
        CancellationToken ct)
    {
        if (events.Count == 0) return [];
        var visible = new HashSet<(string, Guid)>();

        // Artifacts: the events' artifacts, plus the collections a commit published into and the commits' workspaces.
        var artifactIds = events.Where(e => e.ResourceType == ResourceTypes.Artifact).Select(e => e.ResourceId)
            .Concat(events.SelectMany(PublishedInto)).Concat(events.Where(e => e.Data is CommitCreatedData).Select(e => ((CommitCreatedData)e.Data).WorkspaceId));
        var runIds = events.Where(e => e.ResourceType == ResourceTypes.Run).Select(e => e.ResourceId).Distinct().ToList();
        var runs = runIds.Count == 0 ? [] : (await session.LoadManyAsync<Run>(ct, runIds)).Where(r => r.CallerId == caller.Id || IsApprovalEventOf(events, r.Id)).ToList();
        var artifacts = (await session.LoadManyAsync<Artifact>(ct, artifactIds.Concat(runs.Select(r => r.ArtifactId)).Distinct())).ToList();
        var readable = (await session.PermittedAsync(artifacts, caller, Permission.Read, ct)).Select(a => a.Id).ToHashSet();

        foreach (var e in events.Where(e => e.ResourceType == ResourceTypes.Artifact))
        {
            if (readable.Contains(e.ResourceId) || PublishedInto(e).Any(readable.Contains)) visible.Add((e.ResourceType, e.ResourceId));
        }
        foreach (var e in events.Where(e => e.Data is CommitCreatedData))
        {
            var commit = (CommitCreatedData)e.Data;
            if (readable.Contains(commit.WorkspaceId) || commit.CollectionIds.Any(readable.Contains)) visible.Add((e.ResourceType, e.ResourceId));
        }

        // Runs: the requester's, as GET /runs/{id} decides; approvals also to whoever may decide them, as GET /approvals does.
        var mine = runs.Where(r => r.CallerId == caller.Id).ToList();
        var seen = await session.VisibleAsync(mine, caller, ct);
        foreach (var run in mine.Where(seen)) visible.Add((ResourceTypes.Run, run.Id));
        var deciders = caller.IsNarrowed ? [] : (await session.PermittedAsync(artifacts.Where(a => runs.Any(r => r.ArtifactId == a.Id)).ToList(), caller,
            Permission.Admin, ct)).Select(a => a.Id).ToHashSet();
        var decidable = runs.Where(r => deciders.Contains(r.ArtifactId)).Select(r => r.Id).ToHashSet();

        // Grants: as GET /grants/{id} decides, once per grant.
        var grantIds = events.Where(e => e.ResourceType == ResourceTypes.Grant).Select(e => e.ResourceId).Distinct().ToList();
        foreach (var grant in grantIds.Count == 0 ? [] : await session.LoadManyAsync<Grant>(ct, grantIds))
        {
            if (await ReadGrantsEndpoint.CanSeeAsync(session, grant, caller, ct)) visible.Add((ResourceTypes.Grant, grant.Id));
        }

        // Owned credentials and secrets: their owner.
        var keyIds = events.Where(e => e.ResourceType == ResourceTypes.ApiKey).Select(e => e.ResourceId).Distinct().ToList();
        foreach (var key in keyIds.Count == 0 ? [] : await session.LoadManyAsync<ApiKey>(ct, keyIds))
        {
            if (key.OwnerId == caller.Id) visible.Add((ResourceTypes.ApiKey, key.Id));
        }
        var secretIds = events.Where(e => e.ResourceType == ResourceTypes.Secret).Select(e => e.ResourceId).Distinct().ToList();
        if (secretIds.Count > 0 && SecretAccess.ScopeRefusal(caller, "read") is null)
        {
            foreach (var secret in await session.LoadManyAsync<StoredSecret>(ct, secretIds))
            {
                if (secret.OwnerId == caller.Id && caller.ResourceAllowed(secret.Id, null)) visible.Add((ResourceTypes.Secret, secret.Id));
            }
        }

        // Webhook endpoints: their owner.
        var webhookIds = events.Where(e => e.ResourceType == ResourceTypes.Webhook).Select(e => e.ResourceId).Distinct().ToList();
        foreach (var webhook in webhookIds.Count == 0 ? [] : await session.LoadManyAsync<Webhooks.Webhook>(ct, webhookIds))
        {
            if (webhook.OwnerId == caller.Id) visible.Add((ResourceTypes.Webhook, webhook.Id));
        }

        return events.Where(e => e.ResourceType switch
        {
            ResourceTypes.ServerCredential or ResourceTypes.Platform => caller.IsPlatformAdmin,
            ResourceTypes.Run when e.Type.StartsWith("approval.", StringComparison.Ordinal) && decidable.Contains(e.ResourceId) => true,
            _ => visible.Contains((e.ResourceType, e.ResourceId)),
        }).ToList();
    }

    private static IEnumerable<Guid> PublishedInto(PublicEvent e) => e.Data is ArtifactCommittedData c ? c.CollectionIds : [];

    private static bool IsApprovalEventOf(IReadOnlyList<PublicEvent> events, Guid runId) =>
        events.Any(e => e.ResourceId == runId && e.Type.StartsWith("approval.", StringComparison.Ordinal));
}
