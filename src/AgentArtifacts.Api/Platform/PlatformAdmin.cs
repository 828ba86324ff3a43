using System.Security.Claims;
using Marten;
using Npgsql;
using AgentArtifacts.Api.Identity;

namespace AgentArtifacts.Api.Platform;

// Platform-admin changes are events on the user's own stream (stream id = user id), appended in the same transaction that
// updates the User document, so the audit trail (who, by Marten's user_name; when, the event timestamp) can never
// disagree with the flag. The User document stays the model that login and listings read.

public sealed record UserPlatformAdminGranted(Guid UserId);
public sealed record UserPlatformAdminRevoked(Guid UserId);

public static class PlatformAdmins
{
    // Admin changes are serialised, so two admins removing each other at once cannot leave the platform without one.
    private const long AdminChangeLock = 7300002;

    public delegate (object? Event, IResult? Problem) Decision(User user, int otherAdmins);

    /// <summary>Loads the user under the admin-change lock, decides, and saves the flag and its event in one transaction.</summary>
    public static async Task<IResult> ChangeAsync(Guid userId, Decision decide, ClaimsPrincipal principal, NpgsqlDataSource db,
        IDocumentStore store, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var lockCommand = new NpgsqlCommand($"select pg_advisory_xact_lock({AdminChangeLock})", connection, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync(ct);
        }
        await using var session = store.LightweightSession(Marten.Services.SessionOptions.ForTransaction(transaction));
        session.LastModifiedBy = Caller.From(principal).Id.ToString();

        var user = await session.LoadAsync<User>(userId, ct);
        if (user is null) return Problems.NotFound("user");
        var otherAdmins = await session.Query<User>().CountAsync(u => u.IsPlatformAdmin && u.Id != userId, ct);
        var (change, problem) = decide(user, otherAdmins);
        if (problem is not null) return problem;
        if (change is not null)
        {
            user.IsPlatformAdmin = change is UserPlatformAdminGranted;
            session.Update(user);
            session.Events.Append(user.Id, change);
            await session.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        return Results.Ok(UserResponse.From(user));
    }
}
