using System.Text.Json.Serialization;
using AgentArtifacts.Api.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Wolverine.Http;

namespace AgentArtifacts.Api.Identity;

/// <summary>OpenID Connect discovery metadata for this service's own token issuer.</summary>
/// <param name="Issuer">The issuer (<c>iss</c>) of the access tokens this service signs.</param>
/// <param name="TokenEndpoint">Where to get tokens: this service's POST /auth/token.</param>
/// <param name="JwksUri">Where the public keys that verify its tokens are published.</param>
/// <param name="GrantTypesSupported">The OAuth2 grant types the token endpoint accepts.</param>
/// <param name="TokenEndpointAuthMethodsSupported">How a client may authenticate at the token endpoint.</param>
/// <param name="SigningAlgValuesSupported">The algorithms tokens are signed with.</param>
/// <param name="SubjectTypesSupported">The subject identifier types (OpenID Connect): <c>public</c>.</param>
/// <param name="ResponseTypesSupported">The response types (OpenID Connect).</param>
public sealed record OpenIdConfiguration(
    [property: JsonPropertyName("issuer")] string Issuer,
    [property: JsonPropertyName("token_endpoint")] string TokenEndpoint,
    [property: JsonPropertyName("jwks_uri")] string JwksUri,
    [property: JsonPropertyName("grant_types_supported")] string[] GrantTypesSupported,
    [property: JsonPropertyName("token_endpoint_auth_methods_supported")] string[] TokenEndpointAuthMethodsSupported,
    [property: JsonPropertyName("id_token_signing_alg_values_supported")] string[] SigningAlgValuesSupported,
    [property: JsonPropertyName("subject_types_supported")] string[] SubjectTypesSupported,
    [property: JsonPropertyName("response_types_supported")] string[] ResponseTypesSupported);

/// <summary>The public keys that verify this service's access tokens (a JSON Web Key Set, RFC 7517).</summary>
/// <param name="Keys">The keys in use; a token's <c>kid</c> header names the one that signed it.</param>
public sealed record JsonWebKeySetResponse([property: JsonPropertyName("keys")] IReadOnlyList<JwkResponse> Keys);

/// <summary>A public RSA signing key (JSON Web Key, RFC 7517).</summary>
/// <param name="Kty">The key type: <c>RSA</c>.</param>
/// <param name="Use">What the key is for: <c>sig</c> (signatures).</param>
/// <param name="Alg">The signing algorithm: <c>RS256</c>.</param>
/// <param name="Kid">The key's id, as in the <c>kid</c> header of the tokens it signs.</param>
/// <param name="N">The RSA modulus (base64url).</param>
/// <param name="E">The RSA public exponent (base64url).</param>
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
        return new OpenIdConfiguration(options.Value.Issuer, PublicUrl.Of(request, "/auth/token"), PublicUrl.Of(request, "/.well-known/jwks.json"),
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
