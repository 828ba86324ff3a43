using System.Security.Claims;
using FluentValidation;
using Marten;
using AgentArtifacts.Api.Identity;

namespace AgentArtifacts.Api.Grants;

/// <summary>An invite to claim.</summary>
/// <param name="Token">The invite's claim token, from the answer that issued it (at most 200 characters).</param>
public sealed record ClaimInvite(string Token)
{
    public sealed class Validator : AbstractValidator<ClaimInvite>
    {
        public Validator() => RuleFor(x => x.Token).NotEmpty().MaximumLength(200);
    }
}

public static class ClaimInviteEndpoint
{
    /// <summary>
    /// Turn an invite's token into a grant for the caller, with the invite's permissions and expiry. 410 once the invite
    /// has been claimed <c>maxClaims</c> times, has expired or was revoked; 403 when it is meant for another email.
    /// </summary>
    [WolverinePost("/grants/claim", OperationId = "claimInvite"), Tags("Grants")]
    [ProducesResponseType<GrantResponse>(201), ProducesResponseType(400), ProducesResponseType(403), ProducesResponseType(404),
     ProducesResponseType(409), ProducesResponseType(410)]
    public static async Task<IResult> Post(ClaimInvite request, ClaimsPrincipal principal, IDocumentSession session, TimeProvider clock, CancellationToken ct)
    {
        var caller = Caller.From(principal);
        var hash = Secrets.Hash(request.Token.Trim());
        var found = await session.Query<Grant>().FirstOrDefaultAsync(g => g.InviteTokenHash == hash, ct);
        if (found is null) return Problems.Result(404, "invite_not_found", "No invite has this token.");
        var user = await session.LoadAsync<User>(caller.Id, ct);
        for (var tries = 0; ; tries++)
        {
            // Decide on the invite as fetched for writing, not as queried above: its version then is the one checked on
            // append, so of two claims racing for the last place one fails, and deciding again answers it 410. Each try
            // gets a fresh session: a session whose save failed must not be reused.
            await using var attempt = session.DocumentStore.LightweightSession();
            attempt.LastModifiedBy = caller.Id.ToString();
            var stream = await attempt.Events.FetchForWriting<Grant>(found.Id, ct);
            var invite = stream.Aggregate!;
            var claimedBefore = await attempt.Query<Grant>().AnyAsync(g => g.ClaimedFrom == invite.Id && g.GranteeId == caller.Id, ct);

            var decision = Decide(invite, caller, user?.NormalizedEmail, claimedBefore, clock.GetUtcNow(), Guid.CreateVersion7());
            if (decision is IResult problem) return problem;

            var issued = (GrantIssued)decision;
            stream.AppendOne(new InviteClaimed(invite.Id, caller.Id, issued.GrantId));
            var started = attempt.Events.StartStream<Grant>(issued.GrantId, issued);
            try
            {
                await attempt.SaveChangesAsync(ct);
            }
            catch (Exception e) when (Concurrency.IsConflict(e) && tries < 5)
            {
                continue;  // another claim (or a revoke) got in first: decide again on the invite's new state
            }
            var grant = Grant.Create((JasperFx.Events.IEvent<GrantIssued>)started.Events.Single());
            return Results.Created($"/grants/{grant.Id}", GrantResponse.From(grant));
        }
    }

    public static object Decide(Grant invite, Caller caller, string? callerEmail, bool claimedBefore, DateTimeOffset now, Guid grantId)
    {
        if (invite.GranteeType != GranteeType.Invite) return Problems.Result(404, "invite_not_found", "No invite has this token.");
        if (!invite.ActiveAt(now)) return Problems.Result(410, "invite_expired", "The invite has expired or was revoked.");
        if (invite.MaxClaims is { } max && invite.Claims >= max) return Problems.Result(410, "invite_exhausted", "The invite has been claimed as often as it allows.");
        if (invite.InviteEmail is { } email && email != callerEmail) return Problems.Result(403, "permission_denied", "The invite is meant for another email.");
        if (claimedBefore) return Problems.Result(409, "already_claimed", "You have already claimed this invite.");
        return new GrantIssued(grantId, invite.ResourceId, GranteeType.User, caller.Id, invite.Permissions, GrantEffect.Allow, invite.ExpiresAt,
            ClaimedFrom: invite.Id);
    }
}
