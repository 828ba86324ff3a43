using System.Security.Claims;
using FluentValidation;
using Marten;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Identity;

namespace AgentArtifacts.Api.Grants;

/// <summary>A new grant: permissions (or a role) on a resource for a principal, or an invite.</summary>
/// <param name="ResourceId">The artifact, workspace or collection to grant on.</param>
/// <param name="Grantee">Who it is for: a user, API key, group or server by id, or an invite (no id; optionally an email).</param>
/// <param name="Permissions">The permissions to give or deny: <c>create</c>, <c>read</c>, <c>update</c>, <c>delete</c>, <c>evict</c>, <c>add</c>, <c>share</c>, <c>invoke</c>, <c>admin</c>. Give either these or <c>role</c>.</param>
/// <param name="Role">A named set of permissions instead of <c>permissions</c>: <c>viewer</c> (read), <c>editor</c> (create, read, update, delete, evict), <c>collaborator</c> (editor's, plus invoke, add, share) or <c>admin</c> (all).</param>
/// <param name="Effect">Allow or deny (an invite can only allow).</param>
/// <param name="ExpiresAt">When it stops counting (ISO 8601; in the future). Never when left out.</param>
/// <param name="MaxClaims">For an invite only: how many times it can be claimed (1 to 10000). No limit when left out.</param>
public sealed record IssueGrant(Guid ResourceId, Grantee Grantee, IReadOnlyList<string>? Permissions = null, string? Role = null,
    GrantEffect Effect = GrantEffect.Allow, DateTimeOffset? ExpiresAt = null, int? MaxClaims = null)
{
    public sealed class Validator : AbstractValidator<IssueGrant>
    {
        public Validator()
        {
            RuleFor(x => x.ResourceId).NotEmpty();
            RuleFor(x => x.Grantee).NotNull();
            RuleFor(x => x.Grantee.Id).NotEmpty().When(x => x.Grantee is { Type: not GranteeType.Invite })
                .WithMessage("grantee.id names the user, API key or group.");
            RuleFor(x => x.Grantee.Id).Null().When(x => x.Grantee is { Type: GranteeType.Invite })
                .WithMessage("An invite has no grantee id: whoever claims its token becomes the grantee.");
            RuleFor(x => x.Grantee.Email).Null().When(x => x.Grantee is { Type: not GranteeType.Invite })
                .WithMessage("Only an invite can be restricted to an email.");
            RuleFor(x => x.Grantee.Email).EmailAddress().MaximumLength(320).When(x => x.Grantee?.Email is not null);
            RuleFor(x => x).Must(x => (x.Permissions is null) != (x.Role is null)).WithName("permissions")
                .WithMessage("Give either permissions or a role, not both.");
            RuleForEach(x => x.Permissions).Must(p => PermissionNames.TryParse(p, out _))
                .WithMessage("Each permission is one of create, read, update, delete, evict, add, share, invoke, admin.");
            RuleFor(x => x.Permissions).Must(p => p is null || p.Count > 0).WithMessage("permissions must not be empty.");
            RuleFor(x => x.Role).Must(r => r is null || Access.Roles.ContainsKey(r)).WithMessage("role is viewer, editor, collaborator or admin.");
            RuleFor(x => x.MaxClaims).Null().When(x => x.Grantee is { Type: not GranteeType.Invite }).WithMessage("Only an invite has maxClaims.");
            RuleFor(x => x.MaxClaims).InclusiveBetween(1, 10_000).When(x => x.MaxClaims is not null);
            RuleFor(x => x.Effect).Equal(GrantEffect.Allow).When(x => x.Grantee is { Type: GranteeType.Invite }).WithMessage("An invite can only allow.");
        }
    }

    public Permission Requested() => Role is not null ? Access.Roles[Role]
        : (Permissions ?? []).Aggregate(Permission.None, (all, name) => PermissionNames.TryParse(name, out var p) ? all | p : all);
}

public static class IssueGrantEndpoint
{
    /// <summary>
    /// Grant permissions on a resource (an artifact, workspace or collection; a container's grant covers its contents).
    /// Allowed for holders of <c>admin</c> on the resource, or of <c>share</c> for allow grants within their own permissions.
    /// An invite's claim <c>token</c> is in this answer only.
    /// </summary>
    [WolverinePost("/grants", OperationId = "issueGrant"), Tags("Grants")]
    [SecretInResponse("token")]
    [ProducesResponseType<GrantResponse>(201), ProducesResponseType(400), ProducesResponseType(403), ProducesResponseType(404)]
    public static async Task<IResult> Post(IssueGrant request, ClaimsPrincipal principal, IDocumentSession session, TimeProvider clock,
        CancellationToken ct)
    {
        var caller = Caller.From(principal);
        var authorized = await session.AuthorizeAsync(request.ResourceId, caller, Permission.Read, ct, "resource");
        if (authorized.Problem is { } denied) return denied;
        var held = authorized.Held;
        if (request.Grantee is { Type: GranteeType.Group, Id: { } groupId }
            && await session.LoadVisibleAsync(groupId, caller, ct) is not { ContentType: Types.TypeRegistry.Group })
        {
            return Problems.Invalid("grantee.id", "No group artifact you can read has this id.", "unknown_grantee");
        }
        if (request.Grantee is { Type: GranteeType.User, Id: { } userId } && await session.LoadAsync<User>(userId, ct) is null)
        {
            return Problems.Invalid("grantee.id", "No user has this id.", "unknown_grantee");
        }
        var now = clock.GetUtcNow();
        if (request.ExpiresAt is { } expires && expires <= now) return Problems.Invalid("expiresAt", "expiresAt must be in the future.");

        var token = request.Grantee.Type == GranteeType.Invite ? Secrets.New("aai_") : null;
        var decision = Decide(request, held, Guid.CreateVersion7(), token is null ? null : Secrets.Hash(token));
        if (decision is IResult problem) return problem;

        var issued = (GrantIssued)decision;
        var stream = session.Events.StartStream<Grant>(issued.GrantId, issued);
        await session.SaveChangesAsync(ct);
        var grant = Grant.Create((JasperFx.Events.IEvent<GrantIssued>)stream.Events.Single());
        return Results.Created($"/grants/{grant.Id}", GrantResponse.From(grant, token));
    }

    /// <summary>Who may grant what: admin anything; share only allow grants within what the granter holds; nobody else.</summary>
    public static object Decide(IssueGrant request, Permission held, Guid grantId, string? inviteTokenHash)
    {
        var requested = request.Requested();
        var isAdmin = held.HasFlag(Permission.Admin);
        if (!isAdmin && !held.HasFlag(Permission.Share))
        {
            return Problems.Result(403, "permission_denied", "Granting needs the share or admin permission on the resource.");
        }
        if (!isAdmin && request.Effect == GrantEffect.Deny)
        {
            return Problems.Result(403, "permission_denied", "Only an admin of the resource can deny.");
        }
        if (!isAdmin && (requested.HasFlag(Permission.Admin) || (requested & ~held) != Permission.None))
        {
            return Problems.Result(403, "permission_denied",
                $"With share you can grant only what you hold yourself ({string.Join(", ", PermissionNames.Of(held))}).");
        }
        return new GrantIssued(grantId, request.ResourceId, request.Grantee.Type, request.Grantee.Id, requested, request.Effect,
            request.ExpiresAt, inviteTokenHash, request.MaxClaims, request.Grantee.Email?.Trim().ToLowerInvariant());
    }
}
