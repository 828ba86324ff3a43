using System.Security.Claims;
using System.Text;
using Marten;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Identity;

namespace AgentArtifacts.Api.ServerCredentials;

/// <summary>
/// The <c>client_credentials</c> grant of <c>POST /auth/token</c> (RFC 6749 §4.4). The client authenticates with HTTP Basic
/// or with <c>client_id</c>/<c>client_secret</c> form fields (§2.3.1), never both; the answer is a short-lived JWT whose
/// subject is the credential, of kind "server", carrying its scopes (or the requested subset, <c>scope</c>), and no
/// refresh token (§4.4.3).
/// </summary>
public static class ClientCredentialsGrant
{
    public static async Task<IResult> IssueAsync(HttpContext context, IFormCollection form, IQuerySession session, SigningKeys keys,
        SigningKeyOptions signing, ServerCredentialOptions options, DateTimeOffset now, CancellationToken ct)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var usesBasic = header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);
        string clientId, secret;
        if (usesBasic)
        {
            if (form.ContainsKey("client_secret")) return Error("invalid_request", "Authenticate the client one way: HTTP Basic or form fields, not both.");
            if (!TryReadBasic(header["Basic ".Length..].Trim(), out clientId, out secret)) return InvalidClient(context, usesBasic);
            if (form.TryGetValue("client_id", out var formId) && formId.ToString() != clientId)
            {
                return Error("invalid_request", "client_id in the form does not match the HTTP Basic credentials.");
            }
        }
        else
        {
            (clientId, secret) = (form["client_id"].ToString(), form["client_secret"].ToString());
        }
        if (clientId.Length == 0 || secret.Length == 0) return InvalidClient(context, usesBasic);

        // Both lookups always run, so an unknown client and a wrong secret cost the same.
        var verifier = await session.LoadAsync<CredentialSecret>(Secrets.Hash(secret), ct);
        var credential = Guid.TryParse(clientId, out var id) ? await session.LoadActiveAsync(id, ct) : null;
        if (credential is null || verifier is null || verifier.CredentialId != credential.Id || !verifier.IsValid(now))
        {
            return InvalidClient(context, usesBasic);
        }

        var granted = credential.Scopes;
        if (form["scope"].ToString() is { Length: > 0 } requested)
        {
            var asked = requested.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(s => ApiKeyScopes.TryParse(s, out var scope, out _) ? scope.ToString() : s).Distinct().ToList();
            if (asked.Except(credential.Scopes).Any()) return Error("invalid_scope", "The requested scope exceeds the credential's scopes.");
            granted = asked;
        }

        var lifetime = TimeSpan.FromMinutes(Math.Min(options.TokenMinutes, signing.AccessTokenMinutes));
        var accessToken = await keys.CreateAccessTokenAsync([
            new Claim("sub", credential.Id.ToString()),
            new Claim("client_id", credential.Id.ToString()),
            new Claim(Caller.KindClaim, Caller.Server),
            new Claim(Caller.ScopeClaim, string.Join(' ', granted)),
        ], now, lifetime, ct);
        return Results.Ok(new TokenResponse(accessToken, "Bearer", (int)lifetime.TotalSeconds, null, string.Join(' ', granted)));
    }

    /// <summary>RFC 6749 §2.3.1: <c>base64(urlencode(client_id) ":" urlencode(client_secret))</c>.</summary>
    private static bool TryReadBasic(string encoded, out string clientId, out string secret)
    {
        clientId = secret = "";
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            var colon = decoded.IndexOf(':');
            if (colon < 0) return false;
            clientId = Uri.UnescapeDataString(decoded[..colon].Replace('+', ' '));
            secret = Uri.UnescapeDataString(decoded[(colon + 1)..].Replace('+', ' '));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>§5.2: 401 with a Basic challenge when the client used the Authorization header, else 400.</summary>
    private static IResult InvalidClient(HttpContext context, bool usesBasic)
    {
        if (!usesBasic) return Error("invalid_client", "Client authentication failed.");
        context.Response.Headers.WWWAuthenticate = "Basic realm=\"agentartifacts\", charset=\"UTF-8\"";
        return Error("invalid_client", "Client authentication failed.", StatusCodes.Status401Unauthorized);
    }

    private static IResult Error(string error, string description, int status = StatusCodes.Status400BadRequest) =>
        Results.Json(new TokenError(error, description), statusCode: status);
}
