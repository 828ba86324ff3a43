using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Wolverine.Http;

namespace AgentArtifacts.Api.Identity;

public sealed record OpenIdConfiguration(
    [property: JsonPropertyName("issuer")] string Issuer,
    [property: JsonPropertyName("token_endpoint")] string TokenEndpoint,
    [property: JsonPropertyName("jwks_uri")] string JwksUri,
    [property: JsonPropertyName("grant_types_supported")] string[] GrantTypesSupported,
    [property: JsonPropertyName("token_endpoint_auth_methods_supported")] string[] TokenEndpointAuthMethodsSupported,
    [property: JsonPropertyName("id_token_signing_alg_values_supported")] string[] SigningAlgValuesSupported,
    [property: JsonPropertyName("subject_types_supported")] string[] SubjectTypesSupported,
    [property: JsonPropertyName("response_types_supported")] string[] ResponseTypesSupported);

public sealed record JsonWebKeySetResponse([property: JsonPropertyName("keys")] IReadOnlyList<JwkResponse> Keys);

public sealed record JwkResponse(
    [property: JsonPropertyName("kty")] string Kty,
    [property: JsonPropertyName("use")] string Use,
    [property: JsonPropertyName("alg")] string Alg,
    [property: JsonPropertyName("kid")] string Kid,
    [property: JsonPropertyName("n")] string N,
    [property: JsonPropertyName("e")] string E);

public static class DiscoveryEndpoints
{
    /// <summary>OpenID Connect discovery for the local issuer.</summary>
    [AllowAnonymous]
    [WolverineGet("/.well-known/openid-configuration", OperationId = "getOpenIdConfiguration"), Tags("Identity")]
    public static OpenIdConfiguration Configuration(HttpRequest request, IOptions<SigningKeyOptions> options)
    {
        var baseUrl = $"{request.Scheme}://{request.Host}";
        return new OpenIdConfiguration(options.Value.Issuer, $"{baseUrl}/auth/token", $"{baseUrl}/.well-known/jwks.json",
            ["password", "refresh_token", "client_credentials"], ["none", "client_secret_basic", "client_secret_post"], ["RS256"], ["public"], ["token"]);
    }

    /// <summary>The public keys that validate the local issuer's tokens (current and recently rotated ones).</summary>
    [AllowAnonymous]
    [WolverineGet("/.well-known/jwks.json", OperationId = "getJwks"), Tags("Identity")]
    public static async Task<JsonWebKeySetResponse> Jwks(SigningKeys keys, CancellationToken ct)
    {
        var published = await keys.PublishedKeysAsync(ct);
        return new JsonWebKeySetResponse(published.OfType<RsaSecurityKey>().Select(key =>
        {
            var parameters = key.Rsa.ExportParameters(includePrivateParameters: false);
            return new JwkResponse("RSA", "sig", "RS256", key.KeyId, Base64UrlEncoder.Encode(parameters.Modulus), Base64UrlEncoder.Encode(parameters.Exponent));
        }).ToList());
    }
}
