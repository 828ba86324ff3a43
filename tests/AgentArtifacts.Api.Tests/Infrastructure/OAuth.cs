namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>Requests to the RFC 6749 token endpoint, which takes form fields rather than JSON.</summary>
public static class OAuth
{
    public static Task<HttpResponseMessage> PostForm(this HttpClient client, string url, params (string Name, string Value)[] fields) =>
        client.PostAsync(url, new FormUrlEncodedContent(fields.Select(f => KeyValuePair.Create(f.Name, f.Value))));

    public static Task<HttpResponseMessage> PasswordGrant(this HttpClient client, string email, string password) =>
        client.PostForm("/auth/token", ("grant_type", "password"), ("username", email), ("password", password));

    public static Task<HttpResponseMessage> RefreshGrant(this HttpClient client, string refreshToken) =>
        client.PostForm("/auth/token", ("grant_type", "refresh_token"), ("refresh_token", refreshToken));
}
