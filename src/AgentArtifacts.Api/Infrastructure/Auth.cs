using AgentArtifacts.Api.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Web;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// Bearer authentication with one policy scheme that picks by the token's issuer: the service's own RS256 tokens, or
/// Microsoft Entra ID tokens through Microsoft.Identity.Web when an <c>AzureAd</c> section is configured.
/// </summary>
public static class Auth
{
    public const string Policy = "Bearer";
    public const string Local = "Local";
    public const string Entra = "Entra";

    public static void AddAuth(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<SigningKeyOptions>(builder.Configuration.GetSection("Auth"));
        builder.Services.AddSingleton<SigningKeys>();
        builder.Services.AddSingleton<ValidatedTokens>();
        var entraConfigured = builder.Configuration.GetSection("AzureAd").Exists();

        var authentication = builder.Services.AddAuthentication(Policy)
            .AddPolicyScheme(Policy, "Local or Entra ID bearer token", o => o.ForwardDefaultSelector = context =>
                entraConfigured && !IsLocalToken(context) ? Entra : Local)
            .AddJwtBearer(Local, _ => { });
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
            };
            o.Events = new JwtBearerEvents
            {
                OnMessageReceived = context =>
                {
                    if (BearerToken(context.Request) is { } token && validated.TryGet(token, out var principal))
                    {
                        context.Principal = principal;
                        context.Success();
                    }
                    return Task.CompletedTask;
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

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    private static bool IsLocalToken(HttpContext context)
    {
        var handler = new JsonWebTokenHandler();
        if (BearerToken(context.Request) is not { } token || !handler.CanReadToken(token)) return true;
        var issuer = handler.ReadJsonWebToken(token).Issuer;
        return issuer == context.RequestServices.GetRequiredService<IOptions<SigningKeyOptions>>().Value.Issuer;
    }

    /// <summary>401 as problem+json, keeping the WWW-Authenticate header JwtBearer sets.</summary>
    private static async Task WriteChallengeProblem(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        var detail = context.AuthenticateFailure is null ? "A bearer token is required." : "The bearer token is invalid or expired.";
        context.Response.Headers.WWWAuthenticate = context.AuthenticateFailure is null
            ? "Bearer"
            : "Bearer error=\"invalid_token\"";
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        await Problems.Result(401, "unauthenticated", detail).ExecuteAsync(context.HttpContext);
    }
}
