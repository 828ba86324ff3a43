using FluentValidation;
using JasperFx;
using Marten;
using Marten.Services;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Npgsql;
using Wolverine.Http;
using AgentArtifacts.Api.Infrastructure;

namespace AgentArtifacts.Api.Identity;

/// <summary>A new local user.</summary>
/// <param name="Email">The email, which is also the username for the password grant (at most 320 characters; no spaces or invisible characters; unique).</param>
/// <param name="Password">The password (12 to 256 characters).</param>
/// <param name="Name">The display name (1 to 200 characters).</param>
public sealed record RegisterUser(string Email, string Password, string Name)
{
    public sealed class Validator : AbstractValidator<RegisterUser>
    {
        public Validator()
        {
            RuleFor(x => x.Email).NotEmpty().MaximumLength(320).EmailAddress()
                .Must(e => !e.Trim().Any(IsInvisibleOrSpace)).WithMessage("email must not contain spaces, control characters or invisible formatting characters (such as bidirectional overrides).");
            RuleFor(x => x.Password).NotEmpty().MinimumLength(12).MaximumLength(256);
            RuleFor(x => x.Name).NotEmpty().MaximumLength(200);
        }
    }

    /// <summary>Whitespace, controls and format characters (bidirectional overrides, zero-width characters): an address that shows other than it reads.</summary>
    private static bool IsInvisibleOrSpace(char c) =>
        char.IsWhiteSpace(c) || char.IsControl(c) || System.Globalization.CharUnicodeInfo.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format;
}

/// <summary>A user as the API shows it.</summary>
/// <param name="Id">The user's id.</param>
/// <param name="Email">The user's email (their username).</param>
/// <param name="Name">The display name.</param>
/// <param name="IsPlatformAdmin">Whether the user is a platform admin.</param>
/// <param name="CreatedAt">When the user registered (ISO 8601, UTC).</param>
public sealed record UserResponse(Guid Id, string Email, string Name, bool IsPlatformAdmin, DateTimeOffset CreatedAt)
{
    public static UserResponse From(User user) => new(user.Id, user.Email, user.Name, user.IsPlatformAdmin, user.CreatedAt);
}

public static class RegisterUserEndpoint
{
    public static readonly PasswordHasher<User> Hasher = new();

    /// <summary>Create a local user. The first user to register becomes the platform admin.</summary>
    [AllowAnonymous]
    [WolverinePost("/auth/register", OperationId = "registerUser"), Tags("Identity")]
    [ProducesResponseType<UserResponse>(201), ProducesResponseType(409), ProducesResponseType(403)]
    public static async Task<IResult> Post(RegisterUser request, Platform.PlatformSettingsCache platform, NpgsqlDataSource db,
        IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        // The platform setting; Identity:RegistrationEnabled until an admin sets it (docs/architecture.md, Platform administration).
        if (!(await platform.GetAsync(ct)).RegistrationEnabled)
        {
            return Problems.Result(403, "registration_disabled", "Registration is switched off on this platform.");
        }

        // Registrations are serialised by a transaction-scoped advisory lock, so exactly one user is ever the first.
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var lockCommand = new NpgsqlCommand("select pg_advisory_xact_lock(7300001)", connection, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync(ct);
        }
        await using var session = store.LightweightSession(Marten.Services.SessionOptions.ForTransaction(transaction));

        var user = new User
        {
            Id = Guid.CreateVersion7(),
            Email = request.Email.Trim(),
            NormalizedEmail = User.Normalize(request.Email),
            Name = request.Name.Trim(),
            IsPlatformAdmin = !await session.Query<User>().AnyAsync(ct),
            CreatedAt = clock.GetUtcNow(),
        };
        if (await session.Query<User>().AnyAsync(u => u.NormalizedEmail == user.NormalizedEmail, ct))
        {
            return Problems.Result(409, "email_taken", "An account with this email already exists.");
        }
        user.PasswordHash = Hasher.HashPassword(user, request.Password);
        session.Insert(user);
        await session.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);

        return Results.Created($"/auth/me", UserResponse.From(user));
    }
}
