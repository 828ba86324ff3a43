using System.Security.Claims;
using Marten;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// Stamps the events a request appends with the calling principal (Marten's user_name metadata), so history shows who
/// did what. Applied by <see cref="WolverineHttpSetup"/> to every endpoint that writes through an IDocumentSession.
/// </summary>
public static class ActorMiddleware
{
    public static void Before(IDocumentSession session, ClaimsPrincipal user)
    {
        if (user.Identity?.IsAuthenticated == true) session.LastModifiedBy = Caller.From(user).Id.ToString();
    }

    public static bool AppliesTo(HttpChain chain) =>
        chain.Method.Method.GetParameters().Any(p => p.ParameterType == typeof(IDocumentSession));
}
