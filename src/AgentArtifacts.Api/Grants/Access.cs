using Marten;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;

namespace AgentArtifacts.Api.Grants;

/// <summary>What the check decided, and the grant that decided it (null when no grant applies).</summary>
public sealed record AccessDecision(bool Allowed, Grant? DecidedBy);

/// <summary>
/// An artifact the caller may act on, or the problem to answer: 404 when it cannot even read it, 403 when it can. On
/// success, <c>Grants</c> are the grants the check read, so a slice that needs more (who may grant, which grant decided)
/// asks them instead of querying again.
/// </summary>
public sealed record Authorized(Artifact? Artifact, IResult? Problem)
{
    public IReadOnlyList<Grant> Grants { get; init; } = [];

    /// <summary>Every permission those grants give now.</summary>
    public Permission Held => Access.Effective(Grants, DateTimeOffset.UtcNow);
}

/// <summary>
/// The one authorization mechanism every slice uses. A grant on a resource applies to it and, for a workspace or
/// collection, to its contents; deny beats allow at every level; expired and revoked grants count for nothing.
/// A check is one indexed query for the grants on the artifact and its container held by the caller's principals.
/// </summary>
public static class Access
{
    public const Permission All = Permission.Create | Permission.Read | Permission.Update | Permission.Delete | Permission.Evict
        | Permission.Add | Permission.Share | Permission.Invoke | Permission.Admin;

    /// <summary>The role presets: viewer, editor, collaborator, admin.</summary>
    public static readonly IReadOnlyDictionary<string, Permission> Roles = new Dictionary<string, Permission>
    {
        ["viewer"] = Permission.Read,
        ["editor"] = Permission.Create | Permission.Read | Permission.Update | Permission.Delete | Permission.Evict,
        ["collaborator"] = Permission.Create | Permission.Read | Permission.Update | Permission.Delete | Permission.Evict
            | Permission.Invoke | Permission.Add | Permission.Share,
        ["admin"] = All,
    };

    /// <summary>Whether the grants let the caller do <paramref name="wanted"/>: any active deny of it wins, then any active allow.</summary>
    public static AccessDecision Decide(IEnumerable<Grant> grants, Permission wanted, DateTimeOffset now)
    {
        var active = grants.Where(g => g.ActiveAt(now)).ToList();
        var deny = active.FirstOrDefault(g => g.Effect == GrantEffect.Deny && Covers(g.Permissions, wanted));
        if (deny is not null) return new AccessDecision(false, deny);
        var allow = active.FirstOrDefault(g => g.Effect == GrantEffect.Allow && Covers(g.Permissions, wanted));
        return new AccessDecision(allow is not null, allow);
    }

    /// <summary>Every permission the grants give at <paramref name="now"/>, each decided as a check would decide it.</summary>
    public static Permission Effective(IEnumerable<Grant> grants, DateTimeOffset now)
    {
        var list = grants.ToList();
        return PermissionNames.Each.Where(p => Decide(list, p, now).Allowed).Aggregate(Permission.None, (all, p) => all | p);
    }

    /// <summary>Admin includes every permission; denying admin denies everything.</summary>
    public static bool Covers(Permission granted, Permission wanted) => granted.HasFlag(Permission.Admin) || granted.HasFlag(wanted);

    /// <summary>The resources whose grants apply to an artifact: itself and the container that holds it.</summary>
    public static IReadOnlyList<Guid> Chain(Artifact artifact) => artifact.ContainerId is { } container ? [artifact.Id, container] : [artifact.Id];

    /// <summary>
    /// The principals a caller acts as directly (a grant may name any of them): the user (for a key, its owner) and the key
    /// itself, or the server. The groups a user belongs to come on top.
    /// </summary>
    public static IReadOnlyList<Guid> Principals(Caller caller) => caller.ApiKeyId is { } key ? [caller.Id, key] : [caller.Id];

    /// <summary>
    /// SQL for "an unrevoked grant held by the caller": named directly, or naming a live group (a group artifact) whose members
    /// include the caller. Parameters: the principals (uuid[]), then the caller's id (text). The group lookup goes through the
    /// index on the artifacts' content type, so it reads group rows only.
    /// </summary>
    private static string HeldByCaller(IQuerySession session) => $"""
        (d.data ->> 'Revoked')::boolean = false
        and (CAST(d.data ->> 'GranteeId' as uuid) = ANY(?)
             or CAST(d.data ->> 'GranteeId' as uuid) in (
                select g.id from {session.DocumentStore.Options.DatabaseSchemaName}.mt_doc_artifact g
                where g.data ->> 'ContentType' = '{TypeRegistry.Group}' and g.data ->> 'State' <> '{(int)ArtifactState.Archived}'
                  and g.data -> 'Context' -> 'members' @> jsonb_build_array(?::text)))
        """;

    private static object[] HeldByCallerParameters(Caller caller) => [Principals(caller).ToArray(), caller.Id.ToString()];

    /// <summary>The grants held by the caller on any of the resources: one indexed query.</summary>
    public static async Task<IReadOnlyList<Grant>> GrantsAsync(this IQuerySession session, Caller caller, IEnumerable<Guid> resources, CancellationToken ct) =>
        await session.QueryAsync<Grant>($"where {HeldByCaller(session)} and CAST(d.data ->> 'ResourceId' as uuid) = ANY(?)", ct,
            [.. HeldByCallerParameters(caller), resources.Distinct().ToArray()]);

    /// <summary>Loads the artifact and checks <paramref name="needed"/>: 404 when the caller cannot read it, 403 when it can but may not.</summary>
    public static Task<Authorized> AuthorizeAsync(this IQuerySession session, Guid id, Caller caller, Permission needed, CancellationToken ct,
        string what = "artifact") => session.AuthorizeAsync(id, caller, _ => needed, ct, what);

    /// <summary>As above, when the permission needed depends on the artifact (an operation its type declares).</summary>
    public static async Task<Authorized> AuthorizeAsync(this IQuerySession session, Guid id, Caller caller, Func<Artifact, Permission> neededFor,
        CancellationToken ct, string what = "artifact")
    {
        // One round trip: the artifact, and the grants on it or on its container (found in the same statement batch).
        var batch = session.CreateBatchQuery();
        var loading = batch.Load<Artifact>(id);
        var grantsLoading = batch.Query<Grant>(GrantsOnArtifactAndContainer(session), [.. HeldByCallerParameters(caller), id, id]);
        await batch.Execute(ct);
        var artifact = await loading;
        if (artifact is null) return new Authorized(null, Problems.NotFound(what));
        var grants = await grantsLoading;
        var now = DateTimeOffset.UtcNow;
        var needed = neededFor(artifact);
        if (!Decide(grants, Permission.Read, now).Allowed || !KeyAllows(caller, artifact, Permission.Read)) return new Authorized(null, Problems.NotFound(what));
        if (needed != Permission.Read && !Decide(grants, needed, now).Allowed)
        {
            return new Authorized(null, Problems.Result(403, "permission_denied", $"You may read this {what} but not {needed.ToString().ToLowerInvariant()} it."));
        }
        if (!KeyAllows(caller, artifact, needed))
        {
            return new Authorized(null, Problems.Result(403, "insufficient_scope", $"The credential's scopes do not allow {needed.ToString().ToLowerInvariant()} on this {what}."));
        }
        return new Authorized(artifact, null) { Grants = grants };
    }

    private static string GrantsOnArtifactAndContainer(IQuerySession session) => $"""
        where {HeldByCaller(session)}
          and CAST(d.data ->> 'ResourceId' as uuid) in (?, (select CAST(a.data ->> 'ContainerId' as uuid)
                                                            from {session.DocumentStore.Options.DatabaseSchemaName}.mt_doc_artifact a where a.id = ?))
        """;

    /// <summary>
    /// An API key or server acts within its scopes and resource list, on top of its grants. Containers are read with any
    /// read scope (their listings then show only what the scopes allow); creating in one is checked against the new
    /// artifact's content type by the creating slice. Permissions no key action names (share, admin) are never a key's.
    /// </summary>
    public static bool KeyAllows(Caller caller, Artifact artifact, Permission permission) =>
        KeyAllows(caller, artifact.Id, artifact.ContainerId, artifact.IsContainer, artifact.ContentType, permission);

    /// <summary>As above, for an artifact reached through <paramref name="containerId"/> (its workspace, or a collection holding a revision of it).</summary>
    public static bool KeyAllows(Caller caller, Guid id, Guid? containerId, bool isContainer, string contentType, Permission permission)
    {
        if (!caller.IsNarrowed) return true;
        if (!caller.ResourceAllowed(id, containerId)) return false;
        var action = permission switch
        {
            Permission.Read => "read",
            Permission.Update or Permission.Add => "write",
            Permission.Create => "create",
            Permission.Delete or Permission.Evict => "delete",
            Permission.Invoke => "invoke",
            _ => null,
        };
        if (action is null) return false;
        return isContainer && permission is Permission.Read or Permission.Create ? caller.ActionAllowed(action) : caller.ScopeAllows(contentType, action);
    }

    /// <summary>The artifact when the caller may read it, else null (the caller then answers 404).</summary>
    public static async Task<Artifact?> LoadVisibleAsync(this IQuerySession session, Guid id, Caller caller, CancellationToken ct) =>
        (await session.AuthorizeAsync(id, caller, Permission.Read, ct)).Artifact;

    /// <summary>Of the artifacts, those on which the caller holds <paramref name="needed"/> (one query for all of them).</summary>
    public static async Task<IReadOnlyList<Artifact>> PermittedAsync(this IQuerySession session, IReadOnlyList<Artifact> artifacts, Caller caller,
        Permission needed, CancellationToken ct)
    {
        if (artifacts.Count == 0) return [];
        var grants = await session.GrantsAsync(caller, artifacts.SelectMany(Chain), ct);
        var now = DateTimeOffset.UtcNow;
        return artifacts.Where(a =>
        {
            var chain = Chain(a);
            var applicable = grants.Where(g => chain.Contains(g.ResourceId)).ToList();
            return Decide(applicable, Permission.Read, now).Allowed && Decide(applicable, needed, now).Allowed
                && KeyAllows(caller, a, Permission.Read) && KeyAllows(caller, a, needed);
        }).ToList();
    }

    /// <summary>
    /// For listings: the resources the caller holds an active allow-read grant on, and those it is denied reading. A
    /// listing then filters in its query (containers in the first set; contents not in the second).
    /// </summary>
    public static async Task<(IReadOnlyList<Guid> Readable, IReadOnlyList<Guid> Denied)> ReadSetsAsync(this IQuerySession session, Caller caller, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var grants = (await session.QueryAsync<Grant>($"where {HeldByCaller(session)}", ct, HeldByCallerParameters(caller)))
            .Where(g => g.ActiveAt(now) && Covers(g.Permissions, Permission.Read)).ToList();
        var denied = grants.Where(g => g.Effect == GrantEffect.Deny).Select(g => g.ResourceId).ToHashSet();
        var readable = grants.Where(g => g.Effect == GrantEffect.Allow && !denied.Contains(g.ResourceId)).Select(g => g.ResourceId).Distinct()
            .Where(id => caller.ResourceIds is null || caller.ResourceIds.Contains(id)).ToList();
        return (readable, denied.ToList());
    }

    /// <summary>The grant that makes a container's creator its admin, issued in the same transaction as the container.</summary>
    public static GrantIssued OwnerGrant(Guid containerId, Guid creator) =>
        new(Guid.CreateVersion7(), containerId, GranteeType.User, creator, All, GrantEffect.Allow, null);
}
