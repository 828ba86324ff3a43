using System.Diagnostics;
using System.Security.Claims;
using Marten;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// Stamps the events a request appends with the calling principal (Marten's user_name metadata), the credential it used
/// (the <c>credential</c> event header, for an API key or a server) and the request's W3C trace id (the correlation id), so
/// history shows who did what, with which credential, in which request. Applied by <see cref="WolverineHttpSetup"/> to every
/// endpoint that writes through an IDocumentSession.
/// </summary>
public static class ActorMiddleware
{
    /// <summary>The event header naming the credential a narrowed principal used: <c>apiKey:{id}</c> or <c>server:{id}</c>.</summary>
    public const string CredentialHeader = "credential";

    public static void Before(IDocumentSession session, ClaimsPrincipal user)
    {
        if (user.Identity?.IsAuthenticated == true)
        {
            var caller = Caller.From(user);
            session.LastModifiedBy = caller.Id.ToString();
            if (Credential(caller) is { } credential) session.SetHeader(CredentialHeader, credential);
        }
        if (Activity.Current is { } activity) session.CorrelationId = activity.TraceId.ToString();
    }

    public static bool AppliesTo(HttpChain chain) =>
        chain.Method.Method.GetParameters().Any(p => p.ParameterType == typeof(IDocumentSession));

    /// <summary>The credential header's value for a caller: null for a user (its user name says all).</summary>
    public static string? Credential(Caller caller) => caller switch
    {
        { ApiKeyId: { } key } => $"{Caller.ApiKey}:{key}",
        { Kind: Caller.Server } => $"{Caller.Server}:{caller.Id}",
        _ => null,
    };

    /// <summary>The credential header read back: (<see cref="Caller.ApiKey"/> or <see cref="Caller.Server"/>, id), or (null, null).</summary>
    public static (string? Kind, Guid? Id) ParseCredential(string? value)
    {
        var colon = value?.IndexOf(':') ?? -1;
        if (colon < 0 || !Guid.TryParse(value.AsSpan(colon + 1), out var id)) return (null, null);
        return value![..colon] is Caller.ApiKey or Caller.Server ? (value[..colon], id) : (null, null);
    }
}
