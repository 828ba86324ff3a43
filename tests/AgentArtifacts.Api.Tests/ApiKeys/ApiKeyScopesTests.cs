using System.Security.Claims;
using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.ApiKeys;

/// <summary>The pure scope rules: parsing, kinds of content types, matching with wildcards, and the Caller built on them.</summary>
public sealed class ApiKeyScopesTests
{
    private static IReadOnlyList<ApiKeyScope> Scopes(params string[] scopes) => ApiKeyScopes.ParseStored(scopes);

    [Theory]
    [InlineData("resource:text/markdown:read", "resource:text/markdown:read")]
    [InlineData("resource:*/*:write", "resource:*/*:write")]
    [InlineData("tool:*:invoke", "tool:*/*:invoke")]
    [InlineData("Prompt:TEXT/*:search", "prompt:text/*:search")]
    [InlineData("resource:application/vnd.agience.workspace+json:create", "resource:application/vnd.agience.workspace+json:create")]
    public void valid_scopes_parse_to_their_normal_form(string text, string normal)
    {
        ApiKeyScopes.TryParse(text, out var scope, out var error).ShouldBeTrue(error);
        scope.ToString().ShouldBe(normal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("resource:text/plain")]
    [InlineData("resource:text/plain:read:extra")]
    [InlineData("secret:text/plain:read")]
    [InlineData("resource:text:read")]
    [InlineData("resource:*/plain:read")]
    [InlineData("resource:text/plain/x:read")]
    [InlineData("resource:text/plain:admin")]
    [InlineData("resource:text/plain:READ")]
    [InlineData("resource:te xt/plain:read")]
    public void malformed_scopes_are_refused_with_a_reason(string text)
    {
        ApiKeyScopes.TryParse(text, out _, out var error).ShouldBeFalse();
        error.ShouldNotBeNullOrWhiteSpace();
    }

    [Theory]
    [InlineData("application/vnd.agience.tool+json", "tool")]
    [InlineData("application/vnd.agience.http-tool+json", "tool")]
    [InlineData("application/vnd.agience.mcp-server+json", "tool")]
    [InlineData("application/vnd.agience.agent+json", "tool")]
    [InlineData("application/vnd.agience.prompt+json", "prompt")]
    [InlineData("text/x-prompt", "prompt")]
    [InlineData("text/x-prompter", "resource")]
    [InlineData("application/vnd.acme.system-prompt+json", "prompt")]
    [InlineData("text/markdown", "resource")]
    [InlineData("application/vnd.agience.workspace+json", "resource")]
    [InlineData("APPLICATION/VND.AGIENCE.TOOL+JSON; charset=utf-8", "tool")]
    public void content_types_map_to_one_kind(string contentType, string kind) => ApiKeyScopes.KindOf(contentType).ShouldBe(kind);

    [Theory]
    [InlineData("resource:*/*:read", "text/markdown", "read", true)]
    [InlineData("resource:*/*:read", "text/markdown", "write", false)]
    [InlineData("resource:text/*:read", "text/plain; charset=utf-8", "read", true)]
    [InlineData("resource:text/*:read", "application/json", "read", false)]
    [InlineData("resource:text/markdown:read", "TEXT/Markdown", "read", true)]
    [InlineData("resource:text/markdown:read", "text/plain", "read", false)]
    [InlineData("resource:*/*:invoke", "application/vnd.agience.http-tool+json", "invoke", false)]
    [InlineData("tool:*/*:invoke", "application/vnd.agience.http-tool+json", "invoke", true)]
    [InlineData("tool:*/*:invoke", "text/markdown", "invoke", false)]
    [InlineData("tool:application/*:read", "application/vnd.agience.agent+json", "read", true)]
    [InlineData("prompt:*/*:read", "application/vnd.agience.prompt+json", "read", true)]
    [InlineData("prompt:*/*:read", "text/markdown", "read", false)]
    public void a_scope_allows_an_action_on_a_content_type_only_when_kind_type_and_action_all_match(string scope, string contentType,
        string action, bool allowed) =>
        ApiKeyScopes.Allows(Scopes(scope), contentType, action).ShouldBe(allowed);

    [Fact]
    public void any_scope_of_several_may_allow()
    {
        var scopes = Scopes("resource:text/*:read", "tool:*/*:invoke");
        ApiKeyScopes.Allows(scopes, "resource", "text/plain", "read").ShouldBeTrue();
        ApiKeyScopes.Allows(scopes, "tool", "application/vnd.agience.tool+json", "invoke").ShouldBeTrue();
        ApiKeyScopes.Allows(scopes, "resource", "application/json", "read").ShouldBeFalse();
        ApiKeyScopes.AllowsAction(scopes, "invoke").ShouldBeTrue();
        ApiKeyScopes.AllowsAction(scopes, "delete").ShouldBeFalse();
        ApiKeyScopes.Allows([], "text/plain", "read").ShouldBeFalse();
    }

    [Fact]
    public void a_key_principal_is_its_owner_narrowed_and_never_a_platform_admin()
    {
        var (owner, key, workspace, other) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var caller = Caller.From(Caller.ForApiKey(owner, key, ["resource:text/*:read"], [workspace]));

        caller.Id.ShouldBe(owner);
        caller.Kind.ShouldBe(Caller.ApiKey);
        caller.ApiKeyId.ShouldBe(key);
        caller.IsPlatformAdmin.ShouldBeFalse();
        caller.ScopeAllows("text/markdown", "read").ShouldBeTrue();
        caller.ScopeAllows("text/markdown", "write").ShouldBeFalse();
        caller.ActionAllowed("read").ShouldBeTrue();
        caller.ActionAllowed("create").ShouldBeFalse();
        caller.ResourceAllowed(workspace, null).ShouldBeTrue();
        caller.ResourceAllowed(Guid.NewGuid(), workspace).ShouldBeTrue();
        caller.ResourceAllowed(other, null).ShouldBeFalse();
        caller.ResourceAllowed(Guid.NewGuid(), other).ShouldBeFalse();
    }

    [Fact]
    public void a_user_is_not_narrowed()
    {
        var caller = Caller.From(new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", Guid.NewGuid().ToString())], Caller.LocalAuthentication)));

        caller.Kind.ShouldBe(Caller.User);
        caller.IsNarrowed.ShouldBeFalse();
        caller.ScopeAllows("anything/at-all", "delete").ShouldBeTrue();
        caller.ActionAllowed("invoke").ShouldBeTrue();
        caller.ResourceAllowed(Guid.NewGuid(), null).ShouldBeTrue();
    }

    [Fact]
    public void kind_and_scope_claims_count_only_in_identities_we_issued()
    {
        Claim[] claims = [new("sub", Guid.NewGuid().ToString()), new(Caller.KindClaim, Caller.Server), new(Caller.ScopeClaim, "resource:*/*:read")];

        Caller.From(new ClaimsPrincipal(new ClaimsIdentity(claims, Caller.LocalAuthentication))).Kind.ShouldBe(Caller.Server);
        var foreign = Caller.From(new ClaimsPrincipal(new ClaimsIdentity(claims, "Entra")));
        foreign.Kind.ShouldBe(Caller.User);
        foreign.IsPlatformAdmin.ShouldBeFalse();
    }
}
