using System.Security.Claims;
using System.Text;
using FluentValidation;
using JasperFx.Events;
using Marten;
using Npgsql;

namespace AgentArtifacts.Api.StoredSecrets;

/// <summary>A new secret, stored encrypted; its value is never shown again.</summary>
/// <param name="Name">The name invocations refer to it by, as <c>{{secret:NAME}}</c>: a letter or underscore, then letters, digits or underscores (at most 128 characters); unique among your secrets.</param>
/// <param name="Value">The secret value (not empty; at most 64 KiB in UTF-8). Write-only: no answer ever contains it.</param>
/// <param name="Description">What the secret is for (at most 1000 characters), or null for none.</param>
public sealed record CreateSecret(string Name, string Value, string? Description = null)
{
    public const string NamePattern = "^[A-Za-z_][A-Za-z0-9_]{0,127}$";
    public const int MaxValueBytes = 64 * 1024;
    public const int MaxDescriptionLength = 1000;

    // The value never appears in a string form of the request (a log line, an exception message, a debugger view).
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Name = {Name}, Value = [hidden], Description = {Description}");
        return true;
    }

    public sealed class Validator : AbstractValidator<CreateSecret>
    {
        public Validator()
        {
            RuleFor(x => x.Name).NotEmpty().Matches(NamePattern)
                .WithMessage("name starts with a letter or underscore, then letters, digits or underscores, 128 characters at most.");
            // Messages never quote the value.
            RuleFor(x => x.Value).NotEmpty().WithMessage("value must not be empty.")
                .Must(v => Encoding.UTF8.GetByteCount(v) <= MaxValueBytes).WithMessage($"value is at most {MaxValueBytes} bytes (UTF-8).");
            RuleFor(x => x.Description).MaximumLength(MaxDescriptionLength);
        }
    }
}

public static class CreateSecretEndpoint
{
    /// <summary>
    /// Store a secret (a credential your invocations use, e.g. <c>Authorization: Bearer {{secret:NAME}}</c> in an HTTP tool's
    /// headers), encrypted. The value is never returned, by this answer or any other; names are unique among your secrets.
    /// </summary>
    [AnswersWithETag]
    [WolverinePost("/secrets", OperationId = "createSecret"), Tags("Secrets")]
    [KeyScope("create"), SecretInRequest]
    [ProducesResponseType<SecretResponse>(201), ProducesResponseType(400), ProducesResponseType(403), ProducesResponseType(409),
     ProducesResponseType(503)]
    public static async Task<IResult> Post(CreateSecret request, ClaimsPrincipal principal, IDocumentSession session, SecretVault vault,
        HttpContext http, CancellationToken ct)
    {
        var caller = Caller.From(principal);
        if (SecretAccess.ScopeRefusal(caller, "create") is { } refused) return refused;
        if (caller.ResourceIds is not null)
        {
            return Problems.Result(403, "insufficient_scope", "A key restricted to resourceIds cannot create secrets.");
        }
        if (!vault.IsAvailable) return SecretAccess.Unavailable();
        var name = request.Name;
        if (await session.Query<SecretCiphertext>().AnyAsync(c => c.OwnerId == caller.Id && c.Name == name, ct)) return NameTaken(name);

        var id = Guid.CreateVersion7();
        var stream = session.Events.StartStream<StoredSecret>(id, Decide(id, caller.Id, request));
        session.Insert(vault.Encrypt(id, caller.Id, name, request.Value));
        try
        {
            await session.SaveChangesAsync(ct);
        }
        catch (Exception e) when (IsNameTaken(e))
        {
            // Another request created the same name between the check and the save.
            return NameTaken(name);
        }

        var secret = StoredSecret.Create((IEvent<SecretCreated>)stream.Events.Single());
        http.Response.Headers.ETag = ETags.For(stream.Events.Single().Version);
        return Results.Created($"/secrets/{id}", SecretResponse.From(secret));
    }

    public static SecretCreated Decide(Guid id, Guid owner, CreateSecret request) =>
        new(id, owner, request.Name, string.IsNullOrWhiteSpace(request.Description) ? null : request.Description.Trim());

    private static bool IsNameTaken(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: SecretStream.NameIndex }) return true;
        }
        return false;
    }

    private static IResult NameTaken(string name) =>
        Problems.Result(409, "secret_name_taken", $"You already have a secret named '{name}'; delete it first to replace it.");
}
