using AgentArtifacts.Api.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Web;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// Bearer authentication with one policy scheme that picks by the token: API keys (<c>aa_…</c>), the service's own RS256
/// tokens, or Microsoft Entra ID tokens through Microsoft.Identity.Web when an <c>AzureAd</c> section is configured.
/// </summary>
public static class Auth
{
    public const string Policy = "Bearer";
    public const string Local = "Local";
    public const string Entra = "Entra";
    public const string ApiKey = "ApiKey";

    public static void AddAuth(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<SigningKeyOptions>(builder.Configuration.GetSection("Auth"));
        builder.Services.AddSingleton<SigningKeys>();
        builder.Services.AddSingleton<ValidatedTokens>();
        var entraConfigured = builder.Configuration.GetSection("AzureAd").Exists();

        var authentication = builder.Services.AddAuthentication(Policy)
            .AddPolicyScheme(Policy, "API key, local or Entra ID bearer token", o => o.ForwardDefaultSelector = context =>
                IsApiKey(context) ? ApiKey : entraConfigured && !IsLocalToken(context) ? Entra : Local)
            .AddJwtBearer(Local, _ => { })
            .AddScheme<AuthenticationSchemeOptions, ApiKeys.ApiKeyAuthentication>(ApiKey, _ => { });
        builder.Services.Configure<ApiKeys.ApiKeyOptions>(builder.Configuration.GetSection("ApiKeys"));
        builder.Services.Configure<ServerCredentials.ServerCredentialOptions>(builder.Configuration.GetSection("ServerCredentials"));
        builder.Services.AddOptions<JwtBearerOptions>(Local).Configure<SigningKeys, IOptions<SigningKeyOptions>, ValidatedTokens>((o, keys, settings, validated) =>
        {
            o.MapInboundClaims = false;
            o.ConfigurationManager = keys;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = settings.Value.Issuer,
                ValidAudience = settings.Value.Audience,
                ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
                ClockSkew = TimeSpan.FromSeconds(30),
                // Marks identities from our own tokens: only those may carry a principal kind and scopes (Caller).
                AuthenticationType = Caller.LocalAuthentication,
            };
            o.Events = new JwtBearerEvents
            {
                OnMessageReceived = async context =>
                {
                    if (BearerToken(context.Request) is not { } token) return;
                    if (validated.TryGet(token, out var principal))
                    {
                        context.Principal = principal;
                        context.Success();
                        return;
                    }
                    // A key another node has just stored is loaded before the token is judged, not after refusing it.
                    await keys.KnowKeyOfAsync(token, context.HttpContext.RequestAborted);
                },
                OnTokenValidated = context =>
                {
                    if (BearerToken(context.Request) is { } token && context.Principal is { } principal)
                    {
                        validated.Remember(token, principal, context.SecurityToken.ValidTo);
                    }
                    return Task.CompletedTask;
                },
                OnChallenge = WriteChallengeProblem,
            };
        });

        if (entraConfigured)
        {
            authentication.AddMicrosoftIdentityWebApi(builder.Configuration.GetSection("AzureAd"), jwtBearerScheme: Entra);
            builder.Services.PostConfigure<JwtBearerOptions>(Entra, o => o.Events.OnChallenge = WriteChallengeProblem);
        }
        builder.Services.AddAuthorization();
    }

    public static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    private static bool IsApiKey(HttpContext context) =>
        BearerToken(context.Request)?.StartsWith(ApiKeys.IssueApiKeyEndpoint.Prefix, StringComparison.Ordinal) == true;

    private static bool IsLocalToken(HttpContext context)
    {
        var handler = new JsonWebTokenHandler();
        if (BearerToken(context.Request) is not { } token || !handler.CanReadToken(token)) return true;
        var issuer = handler.ReadJsonWebToken(token).Issuer;
        return issuer == context.RequestServices.GetRequiredService<IOptions<SigningKeyOptions>>().Value.Issuer;
    }

    /// <summary>401 as problem+json, keeping the WWW-Authenticate header JwtBearer sets.</summary>
    private static Task WriteChallengeProblem(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        return WriteUnauthorized(context.HttpContext, invalid: context.AuthenticateFailure is not null);
    }

    /// <summary>
    /// The one 401 of every scheme: problem+json with <c>WWW-Authenticate: Bearer</c> (RFC 6750 §3), naming the protected
    /// resource metadata (RFC 9728 §5.1), where MCP clients learn which issuer's tokens this service takes.
    /// </summary>
    public static async Task WriteUnauthorized(HttpContext context, bool invalid)
    {
        var metadata = $"resource_metadata=\"{PublicUrl.Of(context.Request, Mcp.Discovery.ProtectedResourceEndpoint.Path)}\"";
        context.Response.Headers.WWWAuthenticate = invalid ? $"Bearer error=\"invalid_token\", {metadata}" : $"Bearer {metadata}";
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        var detail = invalid ? "The bearer token is invalid or expired." : "A bearer token is required.";
        await Problems.Result(401, "unauthenticated", detail).ExecuteAsync(context);
    }
}
