using System.Security.Claims;
using Marten;

namespace AgentArtifacts.Api.Grants;

/// <summary>Whether the caller holds a permission on a resource, and why.</summary>
/// <param name="ResourceId">The resource checked.</param>
/// <param name="Permission">The permission checked.</param>
/// <param name="Allowed">Whether the caller holds it.</param>
/// <param name="DecidedBy">The grant that decided it (a deny wins over any allow), on the resource or its container; null when no grant gives it.</param>
/// <param name="Reason">The decision in words, for people.</param>
public sealed record CheckResponse(Guid ResourceId, string Permission, bool Allowed, GrantResponse? DecidedBy, string Reason);

public static class ReadGrantsEndpoint
{
    /// <summary>The grants on a resource (not those on its container), oldest first. Needs share or admin on the resource.</summary>
    /// <param name="resourceId">The artifact, workspace or collection whose grants to list. Required.</param>
    [WolverineGet("/grants", OperationId = "listGrants"), Tags("Grants")]
    [ProducesResponseType<Page<GrantResponse>>(200), ProducesResponseType(400), ProducesResponseType(403), ProducesResponseType(404)]
    public static async Task<IResult> List(Guid? resourceId, int? limit, string? cursor, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        if (resourceId is not { } id) return Problems.Invalid("resourceId", "resourceId is required; your own grants are at /grants/mine.");
        if (Paging.TryRead<Guid>(limit, cursor, Guid.TryParse, out var take, out var after) is { } badPage) return badPage;
        var caller = Caller.From(principal);
        var authorized = await session.AuthorizeAsync(id, caller, Permission.Read, ct, "resource");
        if (authorized.Problem is { } denied) return denied;
        if (!MayListGrants(authorized.Held))
        {
            return Problems.Result(403, "permission_denied", "Listing a resource's grants needs the share or admin permission on it.");
        }
        // Grant ids are UUID v7, so id order is issue order; PostgreSQL compares uuids bytewise.
        var rows = await session.QueryAsync<Grant>("where CAST(d.data ->> 'ResourceId' as uuid) = ? and d.id > ? order by d.id limit ?",
            token: ct, id, after, take + 1);
        return Results.Ok(Paging.ToPage(rows, take, g => g.Id.ToString(), g => GrantResponse.From(g)));
    }

    /// <summary>The grants that name the caller as grantee, oldest first.</summary>
    [WolverineGet("/grants/mine", OperationId = "listMyGrants"), Tags("Grants")]
    [ProducesResponseType<Page<GrantResponse>>(200), ProducesResponseType(400)]
    public static async Task<IResult> Mine(int? limit, string? cursor, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        if (Paging.TryRead<Guid>(limit, cursor, Guid.TryParse, out var take, out var after) is { } badPage) return badPage;
        var rows = await session.QueryAsync<Grant>("where CAST(d.data ->> 'GranteeId' as uuid) = ? and d.id > ? order by d.id limit ?",
            token: ct, Caller.From(principal).Id, after, take + 1);
        return Results.Ok(Paging.ToPage(rows, take, g => g.Id.ToString(), g => GrantResponse.From(g)));
    }

    /// <summary>One grant: visible to its grantee, its issuer, and whoever may list the resource's grants.</summary>
    [WolverineGet("/grants/{id}", OperationId = "getGrant"), Tags("Grants")]
    [ProducesResponseType<GrantResponse>(200), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        var grant = await session.LoadAsync<Grant>(id, ct);
        return grant is not null && await CanSeeAsync(session, grant, Caller.From(principal), ct)
            ? Results.Ok(GrantResponse.From(grant)) : Problems.NotFound("grant");
    }

    /// <summary>Whether the caller holds a permission on a resource, and the grant that decided it.</summary>
    /// <param name="resourceId">The artifact, workspace or collection to check. Required.</param>
    /// <param name="permission">The permission to check: <c>create</c>, <c>read</c>, <c>update</c>, <c>delete</c>, <c>evict</c>, <c>add</c>, <c>share</c>, <c>invoke</c> or <c>admin</c>. Required.</param>
    [WolverineGet("/grants/check", OperationId = "checkGrant"), Tags("Grants")]
    [ProducesResponseType<CheckResponse>(200), ProducesResponseType(400), ProducesResponseType(404)]
    public static async Task<IResult> Check(Guid? resourceId, string? permission, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        if (resourceId is not { } id) return Problems.Invalid("resourceId", "resourceId is required.");
        if (permission is null || !PermissionNames.TryParse(permission, out var wanted))
        {
            return Problems.Invalid("permission", "permission is one of create, read, update, delete, evict, add, share, invoke, admin.");
        }
        var caller = Caller.From(principal);
        var authorized = await session.AuthorizeAsync(id, caller, Permission.Read, ct, "resource");
        if (authorized.Problem is { } denied) return denied;
        var decision = Access.Decide(authorized.Grants, wanted, DateTimeOffset.UtcNow);
        var reason = decision.DecidedBy switch
        {
            null => "No grant gives it.",
            { Effect: GrantEffect.Deny } g => $"Denied by grant {g.Id} on {(g.ResourceId == id ? "the resource" : "its container")}.",
            var g => $"Allowed by grant {g.Id} on {(g.ResourceId == id ? "the resource" : "its container")}.",
        };
        return Results.Ok(new CheckResponse(id, permission, decision.Allowed, decision.DecidedBy is { } by ? GrantResponse.From(by) : null, reason));
    }

    public static async Task<bool> CanSeeAsync(IQuerySession session, Grant grant, Caller caller, CancellationToken ct)
    {
        if (grant.GranteeId == caller.Id || grant.IssuedBy == caller.Id) return true;
        var authorized = await session.AuthorizeAsync(grant.ResourceId, caller, Permission.Read, ct);
        return authorized.Problem is null && MayListGrants(authorized.Held);
    }

    private static bool MayListGrants(Permission held) => held.HasFlag(Permission.Share) || held.HasFlag(Permission.Admin);
}
