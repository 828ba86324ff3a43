using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using JasperFx;
using Marten;
using Marten.Patching;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Wolverine.Http;
using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.ServerCredentials;

namespace AgentArtifacts.Api.Identity;

/// <summary>RFC 6749 §5.1 success response; the names are the RFC's own, not camelCase.</summary>
/// <param name="AccessToken">The access token (a signed JWT), to send as <c>Authorization: Bearer</c>.</param>
/// <param name="TokenType">Always <c>Bearer</c>.</param>
/// <param name="ExpiresIn">Seconds until the access token expires.</param>
/// <param name="RefreshToken">A single-use token for <c>grant_type=refresh_token</c>, to get a new pair; absent for client credentials.</param>
/// <param name="Scope">The scopes granted, space-separated; only for client credentials.</param>
public sealed record TokenResponse(
    [property: System.Text.Json.Serialization.JsonPropertyName("access_token")] string AccessToken,
    [property: System.Text.Json.Serialization.JsonPropertyName("token_type")] string TokenType,
    [property: System.Text.Json.Serialization.JsonPropertyName("expires_in")] int ExpiresIn,
    [property: System.Text.Json.Serialization.JsonPropertyName("refresh_token"),
        System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? RefreshToken = null,
    [property: System.Text.Json.Serialization.JsonPropertyName("scope"),
        System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Scope = null);

/// <summary>
/// A token request (RFC 6749 §4.3, §4.4 and §6): <c>password</c> with username (the email) and password;
/// <c>client_credentials</c> with client_id and client_secret (or HTTP Basic); <c>refresh_token</c> with refresh_token.
/// Documents the form; the endpoint reads it itself.
/// </summary>
/// <param name="GrantType">Which grant.</param>
/// <param name="Username">For <c>password</c>: the user's email.</param>
/// <param name="Password">For <c>password</c>: the user's password.</param>
/// <param name="RefreshToken">For <c>refresh_token</c>: the refresh token from the previous token answer (single use: a reused one revokes its session).</param>
/// <param name="ClientId">For <c>client_credentials</c>: the server credential's client id (or send it with HTTP Basic).</param>
/// <param name="ClientSecret">For <c>client_credentials</c>: the server credential's secret (or send it with HTTP Basic).</param>
/// <param name="Scope">For <c>client_credentials</c>: the scopes wanted, space-separated, each among the credential's; all of them when left out or empty. Ignored by the other grants.</param>
public sealed record TokenRequest(
    [property: System.Text.Json.Serialization.JsonPropertyName("grant_type")] GrantType GrantType,
    [property: System.Text.Json.Serialization.JsonPropertyName("username")] string? Username = null,
    [property: System.Text.Json.Serialization.JsonPropertyName("password")] string? Password = null,
    [property: System.Text.Json.Serialization.JsonPropertyName("refresh_token")] string? RefreshToken = null,
    [property: System.Text.Json.Serialization.JsonPropertyName("client_id")] string? ClientId = null,
    [property: System.Text.Json.Serialization.JsonPropertyName("client_secret")] string? ClientSecret = null,
    [property: System.Text.Json.Serialization.JsonPropertyName("scope")] string? Scope = null);

/// <summary>
/// The grant types the token endpoint issues tokens for: <c>password</c> (a person's email and password),
/// <c>client_credentials</c> (a server credential) and <c>refresh_token</c>.
/// </summary>
public enum GrantType { Password, ClientCredentials, RefreshToken }

/// <summary>RFC 6749 §5.2 error response.</summary>
/// <param name="Error">The error code: <c>invalid_request</c>, <c>invalid_client</c>, <c>invalid_grant</c>, <c>unsupported_grant_type</c> or <c>invalid_scope</c>.</param>
/// <param name="ErrorDescription">What went wrong, for people.</param>
public sealed record TokenError(
    [property: System.Text.Json.Serialization.JsonPropertyName("error")] string Error,
    [property: System.Text.Json.Serialization.JsonPropertyName("error_description")] string ErrorDescription);

public static class IssueTokenEndpoint
{
    /// <summary>Documents the form body. Not [Consumes]/Accepts: routing would then answer other bodies with a bare 415.</summary>
    public static void Configure(HttpChain chain) =>
        chain.Metadata.Add(builder => builder.Metadata.Add(new DocumentedRequestBody("application/x-www-form-urlencoded", typeof(TokenRequest))));

    // Hashing a fixed password when the email is unknown keeps the answer time the same either way.
    private static readonly string DummyHash = RegisterUserEndpoint.Hasher.HashPassword(new User(), "not-a-real-password");

    /// <summary>
    /// OAuth2 token endpoint (RFC 6749): grant types <c>password</c> (username = email), <c>refresh_token</c> and
    /// <c>client_credentials</c> (server credentials; HTTP Basic or form client authentication).
    /// </summary>
    [AllowAnonymous]
    // No [Consumes]: routing would answer any other body with a bare 415, where RFC 6749 §5.2 wants invalid_request.
    [WolverinePost("/auth/token", OperationId = "issueToken"), Tags("Identity")]
    [ProducesResponseType<TokenResponse>(200), ProducesResponseType<TokenError>(400), ProducesResponseType<TokenError>(401)]
    public static async Task<IResult> Post(HttpContext context, IDocumentSession session, SigningKeys keys,
        IOptions<SigningKeyOptions> options, IOptions<ServerCredentialOptions> serverOptions, Platform.PlatformSettingsCache platform,
        TimeProvider clock)
    {
        // RFC 6749 §5.1: responses with tokens must not be cached, and the RFC names both headers.
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
        if (!context.Request.HasFormContentType)
        {
            return Error("invalid_request", "The request must be application/x-www-form-urlencoded.");
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        if (form.Any(field => field.Value.Count > 1))
        {
            return Error("invalid_request", "A request parameter must not be repeated.");
        }
        var now = clock.GetUtcNow();
        var ct = context.RequestAborted;
        // Token lifetimes are platform settings (configuration until an admin changes them).
        var tokenOptions = (await platform.GetAsync(ct)).ApplyTo(options.Value);

        switch (form["grant_type"].ToString())
        {
            case "password":
                var email = User.Normalize(form["username"].ToString());
                var password = form["password"].ToString();
                if (email.Length == 0 || password.Length == 0) return Error("invalid_request", "username and password are required.");
                var user = await session.Query<User>().FirstOrDefaultAsync(u => u.NormalizedEmail == email, ct);
                var verdict = RegisterUserEndpoint.Hasher.VerifyHashedPassword(user ?? new User(), user?.PasswordHash ?? DummyHash, password);
                if (user is null || verdict == PasswordVerificationResult.Failed)
                {
                    return Error("invalid_grant", "The email or password is incorrect.");
                }
                return Results.Ok(await Issue(user, Guid.CreateVersion7(), session, keys, tokenOptions, now, ct));

            case "refresh_token":
                var presented = form["refresh_token"].ToString();
                if (presented.Length == 0) return Error("invalid_request", "refresh_token is required.");
                var stored = await session.LoadAsync<RefreshToken>(Secrets.Hash(presented), ct);
                if (stored is null || stored.Revoked || stored.ExpiresAt <= now)
                {
                    return Error("invalid_grant", "The refresh token is invalid or expired.");
                }
                if (stored.UsedAt is not null) return await RevokeFamily(session, stored.FamilyId, ct);
                var owner = await session.LoadAsync<User>(stored.UserId, ct);
                if (owner is null) return Error("invalid_grant", "The refresh token is invalid or expired.");
                stored.UsedAt = now;
                session.Update(stored);
                try
                {
                    return Results.Ok(await Issue(owner, stored.FamilyId, session, keys, tokenOptions, now, ct));
                }
                catch (ConcurrencyException)
                {
                    // Another request used the same token at the same moment: a replay like the one above.
                    session.EjectAllPendingChanges();
                    return await RevokeFamily(session, stored.FamilyId, ct);
                }

            case "client_credentials":
                return await ClientCredentialsGrant.IssueAsync(context, form, session, keys, options.Value, serverOptions.Value, now, ct);

            case "":
                return Error("invalid_request", "grant_type is required.");
            default:
                return Error("unsupported_grant_type", "Supported grant types: password, refresh_token, client_credentials.");
        }
    }

    private static async Task<TokenResponse> Issue(User user, Guid family, IDocumentSession session, SigningKeys keys,
        SigningKeyOptions options, DateTimeOffset now, CancellationToken ct)
    {
        var lifetime = TimeSpan.FromMinutes(options.AccessTokenMinutes);
        var accessToken = await keys.CreateAccessTokenAsync([
            new Claim("sub", user.Id.ToString()),
            new Claim("email", user.Email),
            new Claim("name", user.Name),
            new Claim(Caller.PlatformAdminClaim, user.IsPlatformAdmin ? "true" : "false"),
        ], now, lifetime, ct);

        var refreshToken = Secrets.New("");
        session.Store(new RefreshToken
        {
            Id = Secrets.Hash(refreshToken), UserId = user.Id, FamilyId = family, ExpiresAt = now.AddDays(options.RefreshTokenDays),
        });
        await session.SaveChangesAsync(ct);
        return new TokenResponse(accessToken, "Bearer", (int)lifetime.TotalSeconds, refreshToken);
    }

    /// <summary>A used token presented again means it leaked: revoke every token of its family.</summary>
    private static async Task<IResult> RevokeFamily(IDocumentSession session, Guid family, CancellationToken ct)
    {
        session.Patch<RefreshToken>(t => t.FamilyId == family).Set(t => t.Revoked, true);
        await session.SaveChangesAsync(ct);
        return Error("invalid_grant", "The refresh token was already used; its session is revoked.");
    }


    private static IResult Error(string error, string description) =>
        Results.Json(new TokenError(error, description), statusCode: StatusCodes.Status400BadRequest);
}
