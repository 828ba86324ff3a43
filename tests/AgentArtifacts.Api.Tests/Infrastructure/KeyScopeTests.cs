using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

public sealed class KeyScopeTests(ApiFixture fixture) : ApiTest(fixture)
{
    // Management of identity and access, human approvals and the audit log: closed to API keys and servers by having no declaration (fail closed).
    private static readonly string[] ClosedToKeys = ["/api-keys", "/server-credentials", "/grants", "/platform", "/approvals", "/audit-logs", "/webhooks"];

    [Fact]
    public void every_route_declares_a_valid_key_action_or_is_management_that_keys_never_reach()
    {
        var routes = Fixture.Host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is null && e.RoutePattern.RawText is { } raw
                        && raw.TrimStart('/') is not ("openapi.json" or "docs") && !raw.TrimStart('/').StartsWith("docs/", StringComparison.Ordinal))
            .ToList();

        var undeclared = routes.Where(e => e.Metadata.GetMetadata<KeyScopeAttribute>() is null)
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/')).Distinct().ToList();
        undeclared.ShouldNotBeEmpty();
        undeclared.Where(r => !ClosedToKeys.Any(p => r == p || r.StartsWith(p + "/", StringComparison.Ordinal))).ShouldBeEmpty();
        routes.Select(e => e.Metadata.GetMetadata<KeyScopeAttribute>()?.Action).OfType<string>()
            .ShouldAllBe(a => a == KeyScopeAttribute.Any || ApiKeyScopes.Actions.Contains(a));
    }
}
