using Marten;
using Microsoft.AspNetCore.Authorization;
using AgentArtifacts.Api.Identity;

namespace AgentArtifacts.Api.Platform;

public static class ListPlatformUsersEndpoint
{
    /// <summary>The platform's local users, oldest first (keyset paging on the UUID v7 id). Platform admins only.</summary>
    [Authorize(Policy = PlatformAdminPolicy.Name)]
    [WolverineGet("/platform/users", OperationId = "listPlatformUsers"), Tags("Platform")]
    [ProducesResponseType<Page<UserResponse>>(200), ProducesResponseType(400), ProducesResponseType(403)]
    public static async Task<IResult> List(int? limit, string? cursor, IQuerySession session, CancellationToken ct)
    {
        if (Paging.TryRead<Guid>(limit, cursor, Guid.TryParse, out var take, out var after) is { } badPage) return badPage;
        var rows = await session.Query<User>().Where(u => u.Id > after).OrderBy(u => u.Id).Take(take + 1).ToListAsync(ct);
        return Results.Ok(Paging.ToPage(rows, take, u => u.Id.ToString(), UserResponse.From));
    }
}
